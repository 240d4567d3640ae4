// npm run score -- --model <.gguf | folder | owner/name> (--text TEXT | --ids 1,2,3) [--top-k K] [--context N]
//   [--kv-cache f16|f32] [--llama-cpp-numerics] [--json]
//   [--hub URL] [--revision R] [--file x.gguf] [--cache-dir DIR]
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../protocol/errors.ts';
import { promptIds } from '../engine/generate.ts';
import { DEFAULT_SCORE_TOP_K, type ScoreResult } from '../engine/score.ts';
import type { TextTokenizer } from '../engine/tokenizer/index.ts';
import { KV_CACHE_USAGE, kvCacheFlag, openCliModel, runCli } from './session.ts';

const USAGE = `usage: npm run score -- --model <file.gguf | model folder | owner/name> (--text TEXT | --ids 1,2,3) [options]
  Feeds the tokens teacher-forced and prints, for every position, the most likely next tokens
  with their probabilities, then the perplexity of the sequence.
  --text TEXT             tokenized as the model does it, BOS included when the model adds one
  --ids 1,2,3             token ids as they are (add BOS yourself)
  --top-k K               next tokens listed per position (default ${DEFAULT_SCORE_TOP_K})
  --context N             KV cache length (default: the model's, at most 2048)
${KV_CACHE_USAGE}
  --llama-cpp-numerics    round each matmul's activations as llama.cpp's CPU backend does
                          (8-bit blocks for quantized weights) and take GELU from its f16
                          table, to compare with llama.cpp (llama-perplexity) to its near-ties
  --json                  one JSON object {ids, perplexity, positions}: positions[i].top lists
                          [id, probability] for the token after ids[0..i]
 for a Hub repository (owner/name):
  --hub URL               hub endpoint (default https://huggingface.co; HF_TOKEN is sent for gated repos)
  --revision R            branch, tag or commit (default main)
  --file NAME             which GGUF, by file name or quant type (default Q4_K_M, else the smallest)
  --cache-dir DIR         weight store (default ~/.cache/pocket-hub); cached models load offline`;

function wholeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`--${flag} needs a whole number, got "${value}".`, USAGE);
  return n;
}

function parseIds(list: string): number[] {
  return list.split(',').map((item) => wholeNumber(item, 'ids'));
}

/** One line per position: the token read, the probability the model gave it, then the top k after it. */
function formatText(result: ScoreResult, tokenizer: TextTokenizer): string {
  const show = (id: number) => JSON.stringify(tokenizer.decode([id], { skipSpecialTokens: false }));
  const lines = result.positions.map((position, i) => {
    const id = result.ids[i];
    const read = i === 0 ? '' : ` p=${result.positions[i - 1].nextProbability!.toFixed(4)}`;
    const top = position.top.map(([t, p]) => `${show(t)} ${p.toFixed(4)}`).join(', ');
    return `${String(i).padStart(4)}  ${String(id).padStart(6)} ${show(id)}${read}  → ${top}`;
  });
  lines.push(`perplexity ${result.perplexity.toFixed(4)} over ${result.ids.length - 1} predicted tokens`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      text: { type: 'string' },
      ids: { type: 'string' },
      'top-k': { type: 'string' },
      context: { type: 'string' },
      'kv-cache': { type: 'string' },
      'llama-cpp-numerics': { type: 'boolean', default: false },
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
  if (!values.model || (values.text === undefined) === (values.ids === undefined))
    throw new InvalidArgumentError('--model and one of --text or --ids are required.', USAGE);
  const topK = values['top-k'] === undefined ? DEFAULT_SCORE_TOP_K : wholeNumber(values['top-k'], 'top-k');
  const given = values.ids === undefined ? undefined : parseIds(values.ids);

  const kvCache = kvCacheFlag(values['kv-cache'], USAGE);
  const engine = await openCliModel(
    { ...values, model: values.model },
    {
      ...(values.context === undefined ? {} : { contextLength: wholeNumber(values.context, 'context') }),
      ...(kvCache ? { kvCache } : {}),
      ...(values['llama-cpp-numerics'] ? { numerics: 'llama.cpp' as const } : {}),
    },
  );

  const tokenizer = engine.tokenizer!;
  const ids = given ?? promptIds(tokenizer, { prompt: values.text });
  const result = await engine.score(ids, { topK });
  console.log(values.json ? JSON.stringify(result) : formatText(result, tokenizer));
  await engine.unload();
  return 0;
}

runCli(main);
