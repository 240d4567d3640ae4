import * as Comlink from 'comlink';
import { reviveError, serializeError, type SerializedError } from '../protocol/index.ts';

interface Thrown {
  value: unknown;
}

/**
 * Replaces comlink's 'throw' handler, which keeps only {name, message, stack}: errors then arrive
 * as plain Errors without their class or `hint`. Both threads must register it, since each side
 * both throws (the engine) and rethrows (the UI) through the same handler name.
 */
export function registerErrorTransfer(): void {
  const builtin = Comlink.transferHandlers.get('throw');
  if (!builtin) throw new Error("comlink has no 'throw' transfer handler to replace");
  const handler: Comlink.TransferHandler<Thrown, SerializedError> = {
    // comlink marks thrown values with a private symbol; its own test is the only way to see it.
    canHandle: (value: unknown): value is Thrown => builtin.canHandle(value),
    serialize: ({ value }) => [serializeError(value), []],
    deserialize: (data) => {
      throw reviveError(data);
    },
  };
  Comlink.transferHandlers.set('throw', handler);
}
