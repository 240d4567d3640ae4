// llama.cpp's own quantizer (llama_model_quantize, what the llama-quantize tool runs), called
// from Node through koffi on the libllama that node-llama-cpp ships: reference quantized GGUFs
// for tests, made from our random-weight models, with no llama.cpp build on the machine.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';

/** llama_ftype values of the llama.h in node-llama-cpp 3.21.1's llama.cpp (llama/gitRelease.bundle). */
const FTYPES = {
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q5_1: 9,
  Q4_K_M: 15,
  Q5_K_M: 17,
  Q6_K: 18,
} as const;

export type LlamaQuantType = keyof typeof FTYPES;

/**
 * struct llama_model_quantize_params of that llama.h, member for member (x86-64 SysV: enums are
 * 4-byte ints, bool 1 byte, then padding to the first pointer at byte 24; 64 bytes in all).
 * A mismatch here would hand llama.cpp garbage flags, so the size is checked on load.
 */
const QUANTIZE_PARAMS_BYTES = 64;

type NativeFunction = ReturnType<LibraryHandle['func']>;

interface Library {
  quantize: NativeFunction;
  defaults: NativeFunction;
  logGet: NativeFunction;
  logSet: NativeFunction;
  logCallback: TypeObject;
}

let library: Library | undefined;

async function binaryDir(): Promise<string> {
  const name = `${process.platform}-${process.arch}`;
  let bins: { getBinsDir(): { binsDir: string } };
  try {
    bins = await import(`@node-llama-cpp/${name}`);
  } catch {
    throw new Error(`node-llama-cpp ships no prebuilt llama.cpp for ${name} (@node-llama-cpp/${name})`);
  }
  return join(bins.getBinsDir().binsDir, name);
}

function findLibrary(dir: string, stem: string): string {
  const file = readdirSync(dir).find((f) => new RegExp(`^lib${stem}(\\.v[\\d.]+)?\\.(so|dylib)$`).test(f));
  if (!file) throw new Error(`no lib${stem} in ${dir}`);
  return join(dir, file);
}

async function load(): Promise<Library> {
  if (library) return library;
  const dir = await binaryDir();
  const ggml = koffi.load(findLibrary(dir, 'ggml'));
  const llama = koffi.load(findLibrary(dir, 'llama'));
  const params = koffi.struct('llama_model_quantize_params', {
    nthread: 'int32_t',
    ftype: 'int32_t',
    output_tensor_type: 'int32_t',
    token_embedding_type: 'int32_t',
    allow_requantize: 'bool',
    quantize_output_tensor: 'bool',
    only_copy: 'bool',
    pure: 'bool',
    keep_split: 'bool',
    dry_run: 'bool',
    imatrix: 'void *',
    kv_overrides: 'void *',
    tt_overrides: 'void *',
    prune_layers: 'void *',
    max_buf_size: 'size_t',
  });
  if (koffi.sizeof(params) !== QUANTIZE_PARAMS_BYTES)
    throw new Error(`llama_model_quantize_params is ${koffi.sizeof(params)} bytes here, ${QUANTIZE_PARAMS_BYTES} in llama.h`);
  const loaded: Library = {
    quantize: llama.func('uint32_t llama_model_quantize(const char *fname_inp, const char *fname_out, const llama_model_quantize_params *params)'),
    defaults: llama.func('llama_model_quantize_params llama_model_quantize_default_params()'),
    logGet: llama.func('void llama_log_get(_Out_ void **log_callback, _Out_ void **user_data)'),
    logSet: llama.func('void llama_log_set(void *log_callback, void *user_data)'),
    logCallback: koffi.proto('void ggml_log_callback(int level, const char *text, void *user_data)'),
  };
  // The CPU backend lives in its own library that ggml loads at run time (node-llama-cpp does
  // the same on start; loading it again keeps the one registered).
  const loadBackends = ggml.func('void ggml_backend_load_all_from_path(const char *dir)');
  await withLog(loaded, () => {}, async () => loadBackends(dir));
  library = loaded;
  return library;
}

/** ggml_log_level values of the lines worth keeping. */
const GGML_LOG_LEVEL_WARN = 3;
const GGML_LOG_LEVEL_ERROR = 4;

/**
 * Runs `work` with llama.cpp's (and ggml's) log lines sent to `onLine` instead of stderr, then
 * puts back the logger that was set before: node-llama-cpp's, when it runs in the same process.
 */
async function withLog<T>(lib: Library, onLine: (level: number, text: string) => void, work: () => Promise<T>): Promise<T> {
  const previousCallback: unknown[] = [null];
  const previousData: unknown[] = [null];
  lib.logGet(previousCallback, previousData);
  const callback = koffi.register(onLine, koffi.pointer(lib.logCallback));
  lib.logSet(callback, null);
  try {
    return await work();
  } finally {
    lib.logSet(previousCallback[0], previousData[0]);
    koffi.unregister(callback);
  }
}

/**
 * Quantizes the GGUF at `input` into `output` as `llama-quantize input output TYPE` would, with
 * no importance matrix. It runs on a worker thread (koffi's async call), so the log lines
 * llama.cpp writes meanwhile come back to this thread, where they are kept off the console;
 * warnings and errors go into the error thrown when quantization fails.
 */
export async function quantizeWithLlamaCpp(input: string, output: string, type: LlamaQuantType): Promise<void> {
  const lib = await load();
  const params = lib.defaults();
  params.ftype = FTYPES[type];
  // Test models are a few MiB: more threads would only contend with the test's other work.
  params.nthread = 1;
  const lines: string[] = [];
  const keep = (level: number, text: string) => {
    if (level === GGML_LOG_LEVEL_WARN || level === GGML_LOG_LEVEL_ERROR) lines.push(text);
  };
  const status = await withLog(lib, keep, () =>
    new Promise<number>((resolve, reject) =>
      lib.quantize.async(input, output, params, (err: unknown, result: number) => (err ? reject(err) : resolve(result))),
    ),
  );
  if (status !== 0) throw new Error(`llama_model_quantize ${input} → ${type} failed (${status}): ${lines.join('').trim()}`);
}
