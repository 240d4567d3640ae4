import { InvalidArgumentError, type SamplingOptions } from '../protocol/index.ts';

/** The sampling settings as the user types them; parsed only when a message is sent. */
export interface SamplingForm {
  temperature: string;
  topK: string;
  topP: string;
  repetitionPenalty: string;
  maxTokens: string;
  /** Empty means a new random seed for every message. */
  seed: string;
}

export const defaultSampling: SamplingForm = {
  temperature: '0.8',
  topK: '40',
  topP: '0.95',
  repetitionPenalty: '1.1',
  maxTokens: '256',
  seed: '',
};

/**
 * Always the most likely token: temperature 0 is greedy by the protocol, and the penalty goes
 * to 1 so that the result is the model's plain argmax continuation (what llama.cpp prints with
 * `--temp 0 --repeat-penalty 1`).
 */
export const greedySampling: Partial<SamplingForm> = { temperature: '0', repetitionPenalty: '1' };

export interface ParsedSampling extends SamplingOptions {
  maxTokens: number;
}

function field(label: string, text: string, min: number, max: number, integer: boolean): number {
  const value = Number(text.trim());
  const kind = integer ? 'a whole number' : 'a number';
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new InvalidArgumentError(`${label} must be ${kind} from ${min} to ${max}.`);
  }
  return value;
}

/** Checks the form against the ranges the engine accepts; `contextLength` caps the new tokens. */
export function parseSampling(form: SamplingForm, contextLength: number): ParsedSampling {
  const parsed: ParsedSampling = {
    temperature: field('Temperature', form.temperature, 0, 2, false),
    topK: field('Top-k', form.topK, 0, 1_000_000, true),
    topP: field('Top-p', form.topP, 0.01, 1, false),
    repetitionPenalty: field('Repetition penalty', form.repetitionPenalty, 1, 2, false),
    maxTokens: field('Max new tokens', form.maxTokens, 1, contextLength, true),
  };
  if (form.seed.trim() !== '') parsed.seed = field('Seed', form.seed, 0, 2 ** 32 - 1, true);
  return parsed;
}
