import { describe, expect, it } from 'vitest';
import { embedParentOrigin, parseEmbedCommand, parseHostMessage, parseSdkRequest, readGenerateRequest } from './messages.ts';
import { chatRequest, completionRequest } from './openai.ts';

describe('requests from a page', () => {
  it('rebuilds a generate request from known fields of the right type only', () => {
    expect(
      readGenerateRequest({
        messages: [{ role: 'user', content: 'Hi', name: 'x' }],
        temperature: 0,
        topP: 0.9,
        stop: ['\n'],
        seed: 3,
        token: 'hf_secret',
        url: 'https://elsewhere.example/model.gguf',
      }),
    ).toEqual({ messages: [{ role: 'user', content: 'Hi' }], temperature: 0, topP: 0.9, stop: ['\n'], seed: 3 });
  });

  it.each([
    [{}, 'Give either `prompt` or `messages`.'],
    [{ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }, 'Give either `prompt` or `messages`.'],
    [{ messages: [{ role: 'tool', content: 'b' }] }, 'Each message needs a `role` (system, user or assistant) and a string `content`.'],
    [{ prompt: 'a', maxTokens: '12' }, '`maxTokens` must be a number.'],
    [{ prompt: 'a', temperature: Number.NaN }, '`temperature` must be a number.'],
    [{ prompt: 'a', stop: 'x' }, '`stop` must be a list of strings.'],
  ])('refuses %j', (request, reason) => {
    expect(readGenerateRequest(request)).toBe(reason);
  });

  it('answers what it can: the id of a bad request, nothing without one', () => {
    expect(parseSdkRequest({ type: 'generate', id: 4, model: '', request: { prompt: 'a' } })).toEqual({ ok: false, id: 4, reason: '`model` must be a Hub repo id or a URL.' });
    expect(parseSdkRequest({ type: 'unload', id: 5 })).toEqual({ ok: false, id: 5, reason: 'Unknown request type "unload".' });
    expect(parseSdkRequest({ type: 'load', id: -1, model: 'a/b' })).toEqual({ ok: false, reason: 'A request needs a numeric `id`.' });
    expect(parseSdkRequest({ type: 'load', id: 1, model: ' a/b ' })).toEqual({ ok: true, value: { type: 'load', id: 1, model: 'a/b' } });
  });
});

describe('messages from a host', () => {
  it('drops what does not have the shape it claims', () => {
    expect(parseHostMessage({ type: 'token', id: 1, text: 5, tokensPerSecond: 1 })).toBeUndefined();
    expect(parseHostMessage({ type: 'progress', id: 1, progress: { kind: 'teleport', loaded: 1, total: 2 } })).toBeUndefined();
    expect(parseHostMessage({ type: 'done', id: 1, outcome: { text: '', reason: 'eos', stats: {} } })).toBeUndefined();
    expect(parseHostMessage({ type: 'error', id: 2, error: { name: 'QuotaError', message: 'Full', hint: 'Free space', stack: 'at host' } })).toEqual({
      type: 'error',
      id: 2,
      error: { name: 'QuotaError', message: 'Full', hint: 'Free space' },
    });
  });
});

describe('OpenAI parameters', () => {
  it('map onto the engine request', () => {
    expect(
      chatRequest({
        model: 'a/b',
        messages: [
          { role: 'developer', content: 'Be brief' },
          { role: 'user', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there' }] },
        ],
        temperature: 0.7,
        top_p: 0.9,
        top_k: 40,
        max_tokens: 10,
        max_completion_tokens: 20,
        stop: 'END',
        seed: 1,
      }),
    ).toEqual({
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'Hello there' },
      ],
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      maxTokens: 20,
      stop: ['END'],
      seed: 1,
    });
    expect(completionRequest({ model: 'a/b', prompt: ['Once'], stop: null })).toEqual({ prompt: 'Once' });
  });

  it('refuses what the engine cannot do', () => {
    expect(() => completionRequest({ model: 'a/b', prompt: ['one', 'two'] as unknown as [string] })).toThrow(/one prompt per request/);
    expect(() => chatRequest({ model: 'a/b', messages: [{ role: 'user', content: [{ type: 'image_url' } as never] }] })).toThrow(/Only text parts/);
    expect(() => chatRequest({ model: ' ', messages: [{ role: 'user', content: 'x' }] })).toThrow(/`model`/);
  });
});

describe('embeds', () => {
  it('talk to ?parent= when given, else to the origin of the framing page', () => {
    expect(embedParentOrigin('https://blog.example/', 'https://other.example/post')).toBe('https://blog.example');
    expect(embedParentOrigin(null, 'https://blog.example/posts/1?x')).toBe('https://blog.example');
    expect(embedParentOrigin('javascript:alert(1)', '')).toBeUndefined();
    expect(embedParentOrigin('not a url', '')).toBeUndefined();
    expect(embedParentOrigin(null, '')).toBeUndefined();
  });

  it('read the two commands and nothing else', () => {
    expect(parseEmbedCommand({ type: 'pocket-hub:generate', prompt: 'Once', max_tokens: 4 })).toEqual({
      type: 'pocket-hub:generate',
      params: { prompt: 'Once', max_tokens: 4 },
    });
    expect(parseEmbedCommand({ type: 'pocket-hub:stop' })).toEqual({ type: 'pocket-hub:stop' });
    expect(parseEmbedCommand({ type: 'pocket-hub:token', text: 'x' })).toBeUndefined();
    expect(parseEmbedCommand('pocket-hub:stop')).toBeUndefined();
  });
});
