// The chat templates of popular instruct models (from their tokenizer_config.json, via llama.cpp's
// models/templates), rendered for system + user + assistant + user with the generation prompt.
// The expected strings were written by hand from reading each template.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { type ChatMessage, ChatTemplate, pickChatTemplate } from './chatTemplate.ts';
import { tokenizerFromJson } from './index.ts';

const templateDir = new URL('../../../test/fixtures/tokenizers/chat-templates/', import.meta.url);
const load = (name: string) => readFileSync(new URL(`${name}.jinja`, templateDir), 'utf8');

const system: ChatMessage = { role: 'system', content: 'You are a helpful assistant.' };
const turns: ChatMessage[] = [
  { role: 'user', content: 'Hello!' },
  { role: 'assistant', content: 'Hi there. How can I help?' },
  { role: 'user', content: 'Tell me a joke.' },
];
const chat = [system, ...turns];

const llama3Body =
  'You are a helpful assistant.<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\nHi there. How can I help?<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\n';

const chatml =
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
  '<|im_start|>user\nHello!<|im_end|>\n' +
  '<|im_start|>assistant\nHi there. How can I help?<|im_end|>\n' +
  '<|im_start|>user\nTell me a joke.<|im_end|>\n' +
  '<|im_start|>assistant\n';

describe('templates render as the model expects', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('Llama 3.1: the date is the template\'s fixed default "26 Jul 2024"', () => {
    const template = new ChatTemplate(load('meta-llama-Llama-3.1-8B-Instruct'), { bos_token: '<|begin_of_text|>' });
    expect(template.render(chat, true)).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n' +
        llama3Body,
    );
  });

  test("Llama 3.2: the date is today's, via strftime_now, with an English month name", () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(2025, 0, 5, 12, 0));
    const template = new ChatTemplate(load('meta-llama-Llama-3.2-3B-Instruct'), { bos_token: '<|begin_of_text|>' });
    expect(template.render(chat, true)).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Cutting Knowledge Date: December 2023\nToday Date: 05 Jan 2025\n\n' +
        llama3Body,
    );
  });

  test('Qwen2.5 and Qwen3 (ChatML)', () => {
    const tokens = { eos_token: '<|im_end|>', pad_token: '<|endoftext|>' };
    expect(new ChatTemplate(load('Qwen-Qwen2.5-7B-Instruct'), tokens).render(chat, true)).toBe(chatml);
    expect(new ChatTemplate(load('Qwen-Qwen3-0.6B'), tokens).render(chat, true)).toBe(chatml);
    // Without a system message Qwen2.5 supplies its own, Qwen3 none.
    expect(new ChatTemplate(load('Qwen-Qwen2.5-7B-Instruct'), tokens).render(turns.slice(0, 1), true)).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(new ChatTemplate(load('Qwen-Qwen3-0.6B'), tokens).render(turns.slice(0, 1), false)).toBe(
      '<|im_start|>user\nHello!<|im_end|>\n',
    );
  });

  test('Gemma 2: assistant is "model", and a system message is refused by the template itself', () => {
    const template = new ChatTemplate(load('google-gemma-2-2b-it'), { bos_token: '<bos>', eos_token: '<eos>' });
    expect(template.render(turns, true)).toBe(
      '<bos><start_of_turn>user\nHello!<end_of_turn>\n' +
        '<start_of_turn>model\nHi there. How can I help?<end_of_turn>\n' +
        '<start_of_turn>user\nTell me a joke.<end_of_turn>\n' +
        '<start_of_turn>model\n',
    );
    expect(() => template.render(chat, true)).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringContaining('System role not supported') }),
    );
  });

  test('Phi-3.5: eos_token closes the text when no generation prompt is asked for', () => {
    const template = new ChatTemplate(load('microsoft-Phi-3.5-mini-instruct'), { eos_token: '<|endoftext|>' });
    const body =
      '<|system|>\nYou are a helpful assistant.<|end|>\n' +
      '<|user|>\nHello!<|end|>\n' +
      '<|assistant|>\nHi there. How can I help?<|end|>\n' +
      '<|user|>\nTell me a joke.<|end|>\n';
    expect(template.render(chat, true)).toBe(`${body}<|assistant|>\n`);
    expect(template.render(chat, false)).toBe(`${body}<|endoftext|>`);
  });

  test('Mistral Nemo: the system message joins the last user turn', () => {
    const template = new ChatTemplate(load('mistralai-Mistral-Nemo-Instruct-2407'), {
      bos_token: '<s>',
      eos_token: '</s>',
    });
    expect(template.render(chat, true)).toBe(
      '<s>[INST]Hello![/INST]Hi there. How can I help?</s>[INST]You are a helpful assistant.\n\nTell me a joke.[/INST]',
    );
  });

  test('DeepSeek-R1 distill: the generation prompt opens a <think> block', () => {
    const template = new ChatTemplate(load('deepseek-ai-DeepSeek-R1-Distill-Qwen-32B'), {
      bos_token: '<\uff5cbegin\u2581of\u2581sentence\uff5c>',
      eos_token: '<\uff5cend\u2581of\u2581sentence\uff5c>',
    });
    expect(template.render(chat, true)).toBe(
      '<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hello!' +
        '<｜Assistant｜>Hi there. How can I help?<｜end▁of▁sentence｜><｜User｜>Tell me a joke.<｜Assistant｜><think>\n',
    );
  });
});

describe('template selection and errors', () => {
  test('tokenizer_config.json forms: a string, or named templates where "default" is the chat one', () => {
    expect(pickChatTemplate('{{ x }}')).toBe('{{ x }}');
    const named = [
      { name: 'tool_use', template: 'tools' },
      { name: 'default', template: 'chat' },
    ];
    expect(pickChatTemplate(named)).toBe('chat');
    expect(pickChatTemplate({ rag: 'r', default: 'chat' })).toBe('chat');
    expect(pickChatTemplate([{ name: 'tool_use', template: 'tools' }])).toBeUndefined();
    expect(pickChatTemplate(undefined)).toBeUndefined();
  });

  test('through a tokenizer: special tokens given as {content} objects reach the template', () => {
    const tokenizerJson = {
      model: { type: 'BPE', vocab: { a: 0, '<s>': 1, '</s>': 2 }, merges: [] },
      added_tokens: [
        { id: 1, content: '<s>', special: true },
        { id: 2, content: '</s>', special: true },
      ],
    };
    const tok = tokenizerFromJson(tokenizerJson, {
      bos_token: { content: '<s>', __type: 'AddedToken' },
      eos_token: '</s>',
      chat_template: [{ name: 'default', template: '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}' }],
    });
    expect(tok.chatTemplate).toBe('{{ bos_token }}{{ messages[0].content }}{{ eos_token }}');
    expect(tok.applyChatTemplate([{ role: 'user', content: 'a' }])).toBe('<s>a</s>');
    expect(tok.encode('<s>a</s>', { addSpecialTokens: false })).toEqual([1, 0, 2]);
    expect(tok.bosTokenId).toBe(1);
    expect(tok.eosTokenIds).toEqual([2]);
  });

  test('a broken template fails when used, not when the tokenizer is built', () => {
    const template = new ChatTemplate('{% if %}', {});
    expect(() => template.render(turns, true)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError' }));
    expect(() => new ChatTemplate(load('google-gemma-2-2b-it'), {}).render([], true)).toThrow(/at least one message/);
  });
});
