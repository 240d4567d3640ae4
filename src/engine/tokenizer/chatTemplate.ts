import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { InvalidArgumentError } from '../../protocol/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

/** The special-token strings a template may print (`{{ bos_token }}`); absent ones stay undefined for `is defined` tests. */
export interface ChatTemplateTokens {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
}

/**
 * Picks the chat template out of tokenizer_config.json's `chat_template`: a plain string, or
 * the named-template form (a list of `{name, template}` or a `{name: template}` map) where
 * 'default' is the conversational one. Without a 'default' the model gave no usable chat
 * template, as transformers also decides.
 */
export function pickChatTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (isRecord(entry) && entry.name === 'default' && typeof entry.template === 'string') return entry.template;
    }
    return undefined;
  }
  if (isRecord(value) && typeof value.default === 'string') return value.default;
  return undefined;
}

/** A Jinja chat template, parsed on first use so that a model with a broken template still tokenizes. */
export class ChatTemplate {
  private parsed?: Template;

  constructor(
    readonly source: string,
    private readonly tokens: ChatTemplateTokens,
  ) {}

  render(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (messages.length === 0) throw new InvalidArgumentError('A chat needs at least one message.');
    try {
      this.parsed ??= new Template(this.source);
      const env = templateGlobals();
      // Copies, so that a template's `set` on a message can never reach the caller's objects.
      env.set('messages', messages.map((m) => ({ role: m.role, content: m.content })));
      env.set('add_generation_prompt', addGenerationPrompt);
      for (const [name, text] of Object.entries(this.tokens)) if (text !== undefined) env.set(name, text);
      const result: unknown = new Interpreter(env).run(this.parsed.parsed).value;
      if (typeof result !== 'string') throw new Error('the template did not produce text');
      return result;
    } catch (err) {
      // raise_exception() in a template lands here too, with the template's own sentence.
      const detail = err instanceof Error ? err.message : String(err);
      throw new InvalidArgumentError(
        `The model's chat template failed: ${detail}`,
        'Check the conversation: some templates accept no system message or need user/assistant turns to alternate.',
      );
    }
  }
}

/**
 * The globals the Jinja library's Template.render() declares, built here because render() then
 * refuses to redeclare strftime_now, and the library's one names months in the browser's locale.
 * Templates were written against Python's strftime, which prints English under the C locale:
 * Llama 3.2's "Today Date: 05 Jan 2025" should not turn French in a French browser.
 */
function templateGlobals(): Environment {
  const env = new Environment();
  for (const [name, value] of [
    ['true', true],
    ['false', false],
    ['none', null],
    ['True', true],
    ['False', false],
    ['None', null],
  ] as const) {
    env.set(name, value);
  }
  env.set('raise_exception', (message: string) => {
    throw new Error(message);
  });
  env.set('range', pythonRange);
  env.set('strftime_now', strftimeNow);
  return env;
}

function pythonRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const monthLong = new Intl.DateTimeFormat('en-US', { month: 'long' });
const monthShort = new Intl.DateTimeFormat('en-US', { month: 'short' });

function strftimeNow(format: string): string {
  const now = new Date();
  const pad2 = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (code) => {
    switch (code) {
      case '%Y':
        return String(now.getFullYear());
      case '%m':
        return pad2(now.getMonth() + 1);
      case '%d':
        return pad2(now.getDate());
      case '%b':
        return monthShort.format(now);
      case '%B':
        return monthLong.format(now);
      case '%H':
        return pad2(now.getHours());
      case '%M':
        return pad2(now.getMinutes());
      default:
        return '%';
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
