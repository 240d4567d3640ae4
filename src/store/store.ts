import { create } from 'zustand';
import type { FinishReason, GenerationStats, LoadRequest, ModelInfo } from '../protocol/index.ts';
import type { ActiveConversation, ConversationSummary } from './conversationRecord.ts';
import type { LoadStages } from './progress.ts';
import { defaultSampling, type SamplingForm } from './sampling.ts';

/**
 * One exchange in the transcript. A completion entry is the user's text followed by the
 * model's continuation; a chat entry is a user turn and the assistant's reply.
 */
export interface Entry {
  id: number;
  kind: 'completion' | 'chat';
  user: string;
  reply: string;
  status: 'streaming' | 'done' | 'failed';
  reason?: FinishReason;
}

/** What the Retry button does again. */
export type RetryTarget = { kind: 'load' } | { kind: 'generate'; entryId: number } | { kind: 'send' };

export interface Failure {
  error: Error;
  retry: RetryTarget;
}

export type Generation =
  | { status: 'idle' }
  /** 'stopping': Stop was pressed; the engine has been told and its late tokens are dropped. */
  | {
      status: 'generating' | 'stopping';
      runId: number;
      entryId: number;
      tokensPerSecond?: number;
      /** The run's id in the page's run queue (engineRuns.ts), which says whether it still waits. */
      ticket?: number;
    };

export interface ModelSlice {
  /** What `?model=` said: a URL or a Hub repo id. */
  modelUrl?: string;
  /** How it is loaded, kept for Retry and Resume. */
  loadRequest?: LoadRequest;
  /** 'paused': a download was cancelled; what was stored resumes with the next load. */
  loadStatus: 'idle' | 'loading' | 'ready' | 'failed' | 'paused';
  stages: LoadStages;
  model?: ModelInfo;
}

export interface ChatSlice {
  entries: Entry[];
  draft: string;
  generation: Generation;
  lastRun?: { stats: GenerationStats; reason: FinishReason };
  failure?: Failure;
  /** Undefined until the chat's first turn is saved. */
  conversation?: ActiveConversation;
  /** Sent first to chat-template models; empty sends none. */
  systemPrompt: string;
}

/** The saved conversations, as the list shows them. */
export interface HistorySlice {
  history: { status: 'loading' | 'ready' | 'failed'; conversations: ConversationSummary[]; error?: Error };
}

export interface SettingsSlice {
  sampling: SamplingForm;
}

export type HubState = ModelSlice & ChatSlice & SettingsSlice & HistorySlice;

export const initialModel: ModelSlice = { loadStatus: 'idle', stages: {} };
// `conversation` is spelled out so that spreading this over a state clears it.
export const initialChat: ChatSlice = { entries: [], draft: '', generation: { status: 'idle' }, conversation: undefined, systemPrompt: '' };
const initialSettings: SettingsSlice = { sampling: defaultSampling };
export const initialHistory: HistorySlice = { history: { status: 'loading', conversations: [] } };

/** State only: every change goes through the module-level functions in actions.ts and history.ts. */
export const useHub = create<HubState>()(() => ({ ...initialModel, ...initialChat, ...initialSettings, ...initialHistory }));
