// npm run generate -- --model <.gguf | folder | owner/name> --prompt TEXT [--max-tokens N] [--temperature T]
//   [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--context N] [--kv-cache f16|f32] [--json]
//   [--hub URL] [--revision R] [--file x.gguf] [--cache-dir DIR]
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../protocol/errors.ts';
import type { GenerateRequest } from '../protocol/index.ts';
import { KV_CACHE_USAGE, kvCacheFlag, openCliModel, runCli } from './session.ts';

const USAGE = `usage: npm run generate -- --model <file.gguf | model folder | owner/name> --prompt TEXT [options]
  --max-tokens N          new tokens at most (default 256)
  --temperature T         0 is greedy (default 0.8)
  --top-k K               0 disables (default 40)
  --top-p P               1 disables (default 0.95)
  --repetition-penalty R  1 disables (default 1.1)
  --seed S                makes sampling reproducible
  --context N             KV cache length (default: the model's, at most 2048)
${KV_CACHE_USAGE}
  --json                  print one JSON object instead of streaming text
 for a Hub repository (owner/name):
  --hub URL               hub endpoint (default https://huggingface.co; HF_TOKEN is sent for gated repos)
  --revision R            branch, tag or commit (default main)
  --file NAME             which GGUF, by file name or quant type (default Q4_K_M, else the smallest)
  --cache-dir DIR         weight store (default ~/.cache/pocket-hub); cached models load offline`;

function number(value: string | undefined, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new InvalidArgumentError(`--${flag} needs a ${integer ? 'whole ' : ''}number, got "${value}".`, USAGE);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      seed: { type: 'string' },
      context: { type: 'string' },
      'kv-cache': { type: 'string' },
      json: { type: 'boolean', default: false },
      hub: { type: 'string' },
      revision: { type: 'string' },
      file: { type: 'string' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model || values.prompt === undefined) throw new InvalidArgumentError('--model and --prompt are required.', USAGE);

  const contextLength = number(values.context, 'context', true);
  const kvCache = kvCacheFlag(values['kv-cache'], USAGE);
  const engine = await openCliModel({ ...values, model: values.model }, { ...(contextLength === undefined ? {} : { contextLength }), ...(kvCache ? { kvCache } : {}) });

  const request: GenerateRequest = {
    prompt: values.prompt,
    maxTokens: number(values['max-tokens'], 'max-tokens', true),
    temperature: number(values.temperature, 'temperature'),
    topK: number(values['top-k'], 'top-k', true),
    topP: number(values['top-p'], 'top-p'),
    repetitionPenalty: number(values['repetition-penalty'], 'repetition-penalty'),
    seed: number(values.seed, 'seed', true),
  };
  // Greedy means the plain argmax: no penalty unless one is asked for.
  if (request.temperature === 0 && request.repetitionPenalty === undefined) request.repetitionPenalty = 1;

  if (!values.json) process.stdout.write(values.prompt);
  const result = await engine.generate(request, (e) => {
    if (!values.json && e.kind === 'token') process.stdout.write(e.text);
  });
  const { stats } = result;
  if (values.json) {
    console.log(
      JSON.stringify({
        promptIds: result.promptIds,
        ids: result.ids,
        text: result.text,
        finishReason: result.reason,
        prefillTokensPerSecond: stats.prefillTokensPerSecond,
        decodeTokensPerSecond: stats.decodeTokensPerSecond,
        timeToFirstTokenMs: stats.timeToFirstTokenMs,
      }),
    );
  } else {
    process.stdout.write('\n');
    console.error(
      `${stats.promptTokens} prompt tokens at ${stats.prefillTokensPerSecond.toFixed(1)} tok/s, ` +
        `${stats.generatedTokens} generated at ${stats.decodeTokensPerSecond.toFixed(1)} tok/s (${result.reason})`,
    );
  }
  await engine.unload();
  return 0;
}

runCli(main);
