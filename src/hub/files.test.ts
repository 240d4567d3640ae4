import { describe, expect, it } from 'vitest';
import type { HubFile } from './client.ts';
import { chooseFiles, ggufQuant, listGgufChoices } from './files.ts';

function file(path: string, size = 100): HubFile {
  return { path, size, oid: path.padEnd(40, '0').slice(0, 40) };
}

const tokenizerFiles = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
const paths = (files: HubFile[]) => files.map((f) => f.path);

describe('chooseFiles: safetensors', () => {
  it('takes config, tokenizer files and a single model.safetensors, nothing else', () => {
    const repo = [
      'README.md',
      '.gitattributes',
      'config.json',
      ...tokenizerFiles,
      'special_tokens_map.json',
      'model.safetensors',
      'pytorch_model.bin',
      'onnx/model.onnx',
      'original/consolidated.safetensors',
    ].map((p) => file(p));
    const choice = chooseFiles(repo);
    expect(choice.kind).toBe('safetensors');
    expect(paths(choice.kind === 'safetensors' ? choice.files : [])).toEqual(['config.json', ...tokenizerFiles, 'model.safetensors']);
  });

  it('leaves out the tokenizer files a repo lacks', () => {
    const choice = chooseFiles(['config.json', 'tokenizer.json', 'model.safetensors'].map((p) => file(p)));
    expect(choice.kind === 'safetensors' && paths(choice.files)).toEqual(['config.json', 'tokenizer.json', 'model.safetensors']);
  });

  it('takes the shard index and exactly the shards its weight map names', () => {
    const repo = [
      'config.json',
      'tokenizer.json',
      'model.safetensors.index.json',
      'model-00002-of-00002.safetensors',
      'model-00001-of-00002.safetensors',
      // A stale sharding left behind by an older upload, and Mistral's consolidated copy.
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'consolidated.safetensors',
    ].map((p) => file(p));
    const index = {
      weight_map: {
        'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
        'model.layers.0.mlp.up_proj.weight': 'model-00001-of-00002.safetensors',
        'lm_head.weight': 'model-00002-of-00002.safetensors',
      },
    };
    const choice = chooseFiles(repo, { index });
    expect(choice.kind === 'safetensors' && paths(choice.files)).toEqual([
      'config.json',
      'tokenizer.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    // Without the index two complete sets are ambiguous, so the caller must read the index.
    expect(() => chooseFiles(repo)).toThrow(/complete sets of shards/);
  });

  it('infers the shards from their names when there is a single complete set', () => {
    const repo = ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'consolidated.safetensors'];
    const choice = chooseFiles(repo.map((p) => file(p)));
    expect(choice.kind === 'safetensors' && paths(choice.files)).toEqual(repo.slice(0, 4));
  });

  it('fails on an index that names a missing shard, and on weights without config.json', () => {
    const repo = ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors'].map((p) => file(p));
    const index = { weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
    expect(() => chooseFiles(repo, { index })).toThrow(expect.objectContaining({ name: 'MissingFileError', message: expect.stringContaining('model-00002-of-00002') }));
    expect(() => chooseFiles([file('model.safetensors')])).toThrow(expect.objectContaining({ name: 'MissingFileError', message: expect.stringContaining('config.json') }));
  });
});

describe('chooseFiles: GGUF', () => {
  const ggufRepo = [
    file('README.md', 5_000),
    file('model-Q4_K_M.gguf', 700),
    file('model.Q8_0.gguf', 1_100),
    file('model-f16.gguf', 2_000),
    file('model-Q2_K.gguf', 400),
    file('model-IQ4_XS.gguf', 600),
    file('mmproj-model-f16.gguf', 300),
    file('big/model-Q4_K_M-00001-of-00002.gguf', 350),
    file('big/model-Q4_K_M-00002-of-00002.gguf', 350),
  ];

  it('parses the quantisation from the file name', () => {
    expect(ggufQuant('model-Q4_K_M.gguf')).toBe('Q4_K_M');
    expect(ggufQuant('model.Q8_0.gguf')).toBe('Q8_0');
    expect(ggufQuant('model-f16.gguf')).toBe('F16');
    expect(ggufQuant('qwen2.5-0.5b-instruct-q4_k_m.gguf')).toBe('Q4_K_M');
    expect(ggufQuant('Llama-3.2-1B-Instruct-IQ3_XXS.gguf')).toBe('IQ3_XXS');
    expect(ggufQuant('sub/dir/Model-UD-Q4_K_XL.gguf')).toBe('Q4_K_XL');
    expect(ggufQuant('model-bf16.gguf')).toBe('BF16');
    expect(ggufQuant('stories260K.gguf')).toBe('unknown');
  });

  it('lists each GGUF with quant and size, smallest first, without split parts or projectors', () => {
    expect(listGgufChoices(ggufRepo).map((c) => [c.file.path, c.quant, c.size])).toEqual([
      ['model-Q2_K.gguf', 'Q2_K', 400],
      ['model-IQ4_XS.gguf', 'IQ4_XS', 600],
      ['model-Q4_K_M.gguf', 'Q4_K_M', 700],
      ['model.Q8_0.gguf', 'Q8_0', 1_100],
      ['model-f16.gguf', 'F16', 2_000],
    ]);
  });

  it('defaults to Q4_K_M, else the smallest', () => {
    const choice = chooseFiles(ggufRepo);
    expect(choice.kind === 'gguf' && choice.file.path).toBe('model-Q4_K_M.gguf');
    expect(choice.kind === 'gguf' && choice.choices).toHaveLength(5);
    const noQ4 = ggufRepo.filter((f) => f.path !== 'model-Q4_K_M.gguf');
    const fallback = chooseFiles(noQ4);
    expect(fallback.kind === 'gguf' && fallback.file.path).toBe('model-Q2_K.gguf');
  });

  it('takes the GGUF asked for by path or by quant, and names the choices when it is absent', () => {
    const byPath = chooseFiles(ggufRepo, { gguf: 'model.Q8_0.gguf' });
    expect(byPath.kind === 'gguf' && byPath.file.path).toBe('model.Q8_0.gguf');
    const byQuant = chooseFiles(ggufRepo, { gguf: 'f16' });
    expect(byQuant.kind === 'gguf' && byQuant.file.path).toBe('model-f16.gguf');
    expect(() => chooseFiles(ggufRepo, { gguf: 'Q5_K_M' })).toThrow(
      expect.objectContaining({ name: 'MissingFileError', message: expect.stringContaining('model-Q4_K_M.gguf') }),
    );
  });

  it('prefers safetensors in a repo with both, unless a GGUF is asked for', () => {
    const both = ['config.json', 'tokenizer.json', 'model.safetensors', 'stories260K.gguf'].map((p) => file(p));
    expect(chooseFiles(both).kind).toBe('safetensors');
    const gguf = chooseFiles(both, { gguf: 'stories260K.gguf' });
    expect(gguf.kind === 'gguf' && gguf.file.path).toBe('stories260K.gguf');
  });

  it('fails on a repo with no weights it can load', () => {
    expect(() => chooseFiles(['README.md', 'pytorch_model.bin', 'config.json'].map((p) => file(p)))).toThrow(
      expect.objectContaining({ name: 'MissingFileError' }),
    );
  });
});
