import * as Comlink from 'comlink';
import { afterEach, expect, test } from 'vitest';
import { NetworkError, PocketHubError } from '../protocol/index.ts';
import { registerErrorTransfer } from './errorTransfer.ts';

registerErrorTransfer();

interface Thrower {
  typed(): void;
  plain(): void;
  value(): void;
}

const channels: MessageChannel[] = [];
afterEach(() => channels.splice(0).forEach((c) => (c.port1.close(), c.port2.close())));

// A MessageChannel stands in for the worker: the errors cross the same structured clone.
function connect(): Comlink.Remote<Thrower> {
  const channel = new MessageChannel();
  channels.push(channel);
  Comlink.expose(
    {
      typed: () => {
        throw new NetworkError('No model at /nope.gguf (HTTP 404).', 'Check the model address.');
      },
      plain: () => {
        throw new TypeError('x is not a function');
      },
      value: () => {
        throw 'a string';
      },
    } satisfies Thrower,
    channel.port1,
  );
  return Comlink.wrap<Thrower>(channel.port2);
}

test('a typed error arrives as its own class with its hint', async () => {
  const err = await connect().typed().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NetworkError);
  expect(err).toBeInstanceOf(PocketHubError);
  expect(err).toMatchObject({ name: 'NetworkError', message: 'No model at /nope.gguf (HTTP 404).', hint: 'Check the model address.' });
});

test('other errors keep their name and message', async () => {
  const err = await connect().plain().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(PocketHubError);
  expect(err).toMatchObject({ name: 'TypeError', message: 'x is not a function' });
  expect(await connect().value().catch((e: unknown) => e)).toMatchObject({ name: 'Error', message: 'a string' });
});
