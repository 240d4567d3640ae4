// Typed errors shared by the worker and the UI. They carry a stable `name` so
// that they survive the postMessage boundary (comlink sends {name, message}) and
// are rebuilt into the same class on the other side by `reviveError`.

export type ErrorName =
  | 'CorruptFileError'
  | 'UnsupportedArchitectureError'
  | 'UnsupportedDtypeError'
  | 'MissingFileError'
  | 'MissingTokenizerError'
  | 'ContextOverflowError'
  | 'WebGPUUnavailableError'
  | 'DeviceLostError'
  | 'DeviceLimitError'
  | 'NetworkError'
  | 'InvalidArgumentError'
  | 'NoModelLoadedError'
  | 'QuotaError'
  | 'AuthRequiredError'
  | 'RateLimitedError'
  | 'OfflineError'
  | 'IntegrityError'
  | 'AbortError';

export class PocketHubError extends Error {
  /** A sentence telling the user what to do about it. */
  readonly hint: string;
  constructor(name: ErrorName, message: string, hint = '') {
    super(message);
    this.name = name;
    this.hint = hint;
  }
}

function errorClass(name: ErrorName, defaultHint: string) {
  return class extends PocketHubError {
    constructor(message: string, hint = defaultHint) {
      super(name, message, hint);
    }
  };
}

/** The file is not what its format says: bad magic, truncated, offsets out of bounds. */
export const CorruptFileError = errorClass(
  'CorruptFileError',
  'The file is damaged or not a model file. Download it again, or pick another file.',
);
export const UnsupportedArchitectureError = errorClass(
  'UnsupportedArchitectureError',
  'Pocket Hub runs Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3 and GPT-2 models. Pick one of those.',
);
export const UnsupportedDtypeError = errorClass(
  'UnsupportedDtypeError',
  'This weight type is not supported yet. Use an F32, F16 or BF16 file.',
);
export const MissingFileError = errorClass(
  'MissingFileError',
  'Check the model address: the repository lacks a file the model needs.',
);
export const MissingTokenizerError = errorClass(
  'MissingTokenizerError',
  'The model has no tokenizer. Add tokenizer.json to the repository, or use a GGUF with tokenizer metadata.',
);
export const ContextOverflowError = errorClass(
  'ContextOverflowError',
  'Shorten the prompt or lower the maximum number of new tokens.',
);
export const WebGPUUnavailableError = errorClass(
  'WebGPUUnavailableError',
  'Use a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows) and make sure hardware acceleration is on.',
);
export const DeviceLostError = errorClass(
  'DeviceLostError',
  'The GPU was reset or ran out of memory. Reload the model; close other GPU-heavy tabs if it happens again.',
);
export const DeviceLimitError = errorClass(
  'DeviceLimitError',
  'This GPU cannot hold the model. Try a smaller model.',
);
export const NetworkError = errorClass('NetworkError', 'Check your connection and try again.');
export const InvalidArgumentError = errorClass('InvalidArgumentError', 'Check the settings and try again.');
export const NoModelLoadedError = errorClass('NoModelLoadedError', 'Load a model first.');
/** Not enough storage for a download; nothing partial is kept. */
export const QuotaError = errorClass(
  'QuotaError',
  'Free some space: delete cached models on the Storage page, or allow this site more storage.',
);
/** A gated or private repository (HTTP 401/403). */
export const AuthRequiredError = errorClass(
  'AuthRequiredError',
  'Request access on the model page on huggingface.co, then add a read token in Settings. The token stays on this device.',
);
export const RateLimitedError = errorClass('RateLimitedError', 'The hub is rate-limiting requests. Wait a minute and try again.');
/** The hub cannot be reached and the model is not cached. */
export const OfflineError = errorClass('OfflineError', 'Connect to the internet once to download this model; after that it works offline.');
/** Downloaded bytes do not match the hash the hub published. */
export const IntegrityError = errorClass('IntegrityError', 'The download was damaged on the way. Try again; the bad copy was discarded.');
export const AbortError = errorClass('AbortError', '');

const classes: Record<ErrorName, new (message: string, hint?: string) => PocketHubError> = {
  CorruptFileError,
  UnsupportedArchitectureError,
  UnsupportedDtypeError,
  MissingFileError,
  MissingTokenizerError,
  ContextOverflowError,
  WebGPUUnavailableError,
  DeviceLostError,
  DeviceLimitError,
  NetworkError,
  InvalidArgumentError,
  NoModelLoadedError,
  QuotaError,
  AuthRequiredError,
  RateLimitedError,
  OfflineError,
  IntegrityError,
  AbortError,
};

export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof PocketHubError) return { name: err.name, message: err.message, hint: err.hint, stack: err.stack };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** Rebuilds the typed error class from its serialized form; unknown names become plain Errors. */
export function reviveError(data: SerializedError): Error {
  const cls = classes[data.name as ErrorName];
  const err = cls ? new cls(data.message, data.hint) : Object.assign(new Error(data.message), { name: data.name });
  if (data.stack) err.stack = data.stack;
  return err;
}

export function isPocketHubError(err: unknown, name?: ErrorName): err is PocketHubError {
  return err instanceof PocketHubError && (name === undefined || err.name === name);
}
