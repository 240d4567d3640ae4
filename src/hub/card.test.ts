import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelCard, parseSpaceCard, splitFrontMatter } from './card.ts';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/cards/${name}`, import.meta.url), 'utf8');

describe('splitFrontMatter', () => {
  it('takes the block between the first two fences and leaves the rest as the body', () => {
    const { yaml, body, warnings } = splitFrontMatter('---\nlicense: mit\n---\n# Title\n\n---\n\nafter a rule\n');
    expect(yaml).toBe('license: mit');
    expect(body).toBe('# Title\n\n---\n\nafter a rule\n');
    expect(warnings).toEqual([]);
  });

  it('reads Windows line ends, a byte-order mark and an empty block', () => {
    expect(splitFrontMatter('\uFEFF---\r\nlicense: mit\r\n---\r\nbody')).toEqual({ yaml: 'license: mit', body: 'body', warnings: [] });
    expect(splitFrontMatter('---\n---\nbody')).toEqual({ yaml: '', body: 'body', warnings: [] });
    expect(splitFrontMatter('---\nlicense: mit\n---')).toEqual({ yaml: 'license: mit', body: '', warnings: [] });
  });

  it('finds no front matter unless the fence opens the file', () => {
    const text = '# Title\n---\nlicense: mit\n---\n';
    expect(splitFrontMatter(text)).toEqual({ body: text, warnings: [] });
    expect(splitFrontMatter(' ---\nlicense: mit\n---\n').yaml).toBeUndefined();
  });

  it('shows an unclosed block as markdown and says so', () => {
    const { yaml, body, warnings } = splitFrontMatter('---\nlicense: mit\n# Title\n');
    expect(yaml).toBeUndefined();
    expect(body).toBe('---\nlicense: mit\n# Title\n');
    expect(warnings).toEqual([expect.stringContaining('no closing `---`')]);
  });
});

describe('parseModelCard on fixture cards', () => {
  it('reads a transformers model card', () => {
    const { data, body, warnings } = parseModelCard(fixture('instruct-model.md'));
    expect(warnings).toEqual([]);
    expect(data).toEqual({
      license: 'apache-2.0',
      licenseLink: 'https://huggingface.co/pocket-lab/Pebble-0.5B-Instruct/blob/main/LICENSE',
      pipelineTag: 'text-generation',
      libraryName: 'transformers',
      tags: ['chat', 'conversational'],
      languages: ['en', 'fr', 'zh'],
      datasets: ['HuggingFaceH4/ultrachat_200k', 'pocket-lab/pebble-sft-mix'],
      baseModels: ['pocket-lab/Pebble-0.5B'],
      baseModelRelation: 'finetune',
    });
    expect(body.startsWith('\n# Pebble-0.5B-Instruct\n')).toBe(true);
    expect(body).not.toContain('model-index');
  });

  it('reads a GGUF quantisation card with a custom license', () => {
    const { data, warnings } = parseModelCard(fixture('gguf-quant.md'));
    expect(warnings).toEqual([]);
    expect(data).toEqual({
      license: 'other',
      licenseName: 'pebble-community-license',
      licenseLink: 'LICENSE',
      pipelineTag: 'text-generation',
      tags: ['gguf', 'llama-cpp', 'imatrix'],
      languages: ['en'],
      datasets: [],
      baseModels: ['pocket-lab/Pebble-3B-Instruct'],
      baseModelRelation: 'quantized',
    });
  });

  it('gives a card without front matter empty lists and the whole text as body', () => {
    const text = '# Just markdown\n';
    expect(parseModelCard(text)).toEqual({ data: { tags: [], languages: [], datasets: [], baseModels: [] }, body: text, warnings: [] });
  });
});

describe('parseModelCard on broken front matter', () => {
  it('keeps the body and reports invalid YAML instead of throwing', () => {
    const { data, body, warnings } = parseModelCard('---\nlicense: mit\ntags: [a, b\n---\n# Body\n');
    expect(body).toBe('# Body\n');
    expect(data).toEqual({ tags: [], languages: [], datasets: [], baseModels: [] });
    expect(warnings).toEqual([expect.stringMatching(/^The front matter is not valid YAML: Flow sequence .* \(line 3, column 12\)\.$/)]);
  });

  it('treats duplicate keys as invalid YAML', () => {
    expect(parseModelCard('---\nlicense: mit\nlicense: apache-2.0\n---\n').warnings).toEqual([
      expect.stringContaining('Map keys must be unique'),
    ]);
  });

  it('rejects a front matter that is not a mapping', () => {
    const { data, warnings } = parseModelCard('---\n- license\n- mit\n---\nbody');
    expect(data.license).toBeUndefined();
    expect(warnings).toEqual(['The front matter must be a mapping of `key: value` lines.']);
  });

  it('stops alias expansion bombs', () => {
    // Each level doubles the previous one: 2^20 leaves if expanded, past the library's alias limit.
    const levels = Array.from({ length: 20 }, (_, i) => `l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`);
    const { warnings, body } = parseModelCard(`---\nl0: &l0 [x]\n${levels.join('\n')}\n---\nbody`);
    expect(body).toBe('body');
    expect(warnings).toEqual([expect.stringContaining('could not be read')]);
  });

  it('drops fields of the wrong type one by one and keeps the rest', () => {
    const { data, warnings } = parseModelCard(
      [
        '---',
        'license: [mit]',
        'pipeline_tag: text-generation',
        'library_name: 3',
        'tags: [ok, 7, {a: b}, "  ", ok]',
        'language: no',
        'datasets: ["my own scraped data", owner/set]',
        'base_model: [a/b, https://huggingface.co/c/d, ../../etc]',
        'base_model_relation: distilled',
        '---',
      ].join('\n'),
    );
    expect(data).toEqual({
      pipelineTag: 'text-generation',
      // YAML 1.2: `no` is the Norwegian language code, not false.
      languages: ['no'],
      // Repeated tags are shown once.
      tags: ['ok'],
      datasets: ['owner/set'],
      baseModels: ['a/b'],
    });
    expect(warnings).toEqual([
      '`license` must be a non-empty string; it is ignored.',
      '`library_name` must be a non-empty string; it is ignored.',
      '`tags` must be a string or a list of strings; it is ignored.',
      '`tags` must be a string or a list of strings; it is ignored.',
      '`tags` must be a string or a list of strings; it is ignored.',
      "`datasets`: 'my own scraped data' is not a Hub repo id (owner/name); it is ignored.",
      "`base_model`: 'https://huggingface.co/c/d' is not a Hub repo id (owner/name); it is ignored.",
      "`base_model`: '../../etc' is not a Hub repo id (owner/name); it is ignored.",
      '`base_model_relation` must be one of adapter, merge, quantized, finetune; it is ignored.',
    ]);
  });

  it('does not let a __proto__ key reach the data', () => {
    const { data } = parseModelCard('---\n__proto__: {license: mit}\n---\n');
    expect(data.license).toBeUndefined();
    expect(({} as Record<string, unknown>).license).toBeUndefined();
  });
});

describe('parseSpaceCard', () => {
  it('reads a Pocket Hub chat Space with its declarative fields', () => {
    const { data, body, warnings } = parseSpaceCard(fixture('chat-space.md'));
    expect(warnings).toEqual([]);
    expect(data).toEqual({
      title: 'Pebble Tutor',
      emoji: '🧮',
      colorFrom: 'indigo',
      colorTo: 'pink',
      sdk: 'chat',
      shortDescription: 'A patient maths tutor that runs on your GPU',
      models: ['pocket-lab/Pebble-0.5B-Instruct'],
      datasets: [],
      tags: ['education', 'math'],
      pinned: false,
      license: 'mit',
      declarative: {
        systemPrompt:
          'You are a patient maths tutor. Explain each step, ask the student to try the next one,\nand never just give the final answer.',
        examplePrompts: ['Why is 0.999... equal to 1?', 'Help me factor x^2 - 5x + 6.'],
        sampling: { temperature: 0.6, topK: 40, topP: 0.9, repetitionPenalty: 1.05, maxTokens: 512 },
      },
    });
    expect(body).toContain('# Pebble Tutor');
  });

  it('reads a Hub gradio Space and ignores generation fields outside chat and completion', () => {
    const { data, warnings } = parseSpaceCard(
      '---\ntitle: Demo\nemoji: 👨‍👩‍👧\nsdk: gradio\napp_file: app.py\ndisable_embedding: true\nfullWidth: true\ntemperature: 9\n---\n',
    );
    expect(warnings).toEqual([]);
    expect(data).toEqual({
      title: 'Demo',
      // One grapheme made of several code points (a ZWJ family) is one emoji.
      emoji: '👨‍👩‍👧',
      sdk: 'gradio',
      appFile: 'app.py',
      models: [],
      datasets: [],
      tags: [],
      disableEmbedding: true,
      fullWidth: true,
    });
  });

  it('rejects colours, SDKs, emoji and numbers the Hub or the sampler would not accept', () => {
    const { data, warnings } = parseSpaceCard(
      [
        '---',
        'emoji: not an emoji',
        'colorFrom: orange',
        'colorTo: gray',
        'sdk: completion',
        'pinned: "yes"',
        'temperature: 2.5',
        'top_k: 4.5',
        'top_p: 0',
        'max_tokens: 0',
        'repetition_penalty: "1.1"',
        'example_prompts: Say hi',
        '---',
      ].join('\n'),
    );
    expect(data).toEqual({
      colorTo: 'gray',
      sdk: 'completion',
      models: [],
      datasets: [],
      tags: [],
      declarative: { examplePrompts: ['Say hi'], sampling: {} },
    });
    expect(warnings).toEqual([
      '`emoji` must be a single emoji; it is ignored.',
      '`colorFrom` must be one of red, yellow, green, blue, indigo, purple, pink, gray; it is ignored.',
      '`pinned` must be true or false; it is ignored.',
      '`temperature` must be a number from 0 to 2; it is ignored.',
      '`top_k` must be a whole number from 0 to 1000000; it is ignored.',
      '`top_p` must be a number from 0.01 to 1; it is ignored.',
      '`repetition_penalty` must be a number from 1 to 2; it is ignored.',
      `\`max_tokens\` must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; it is ignored.`,
    ]);
  });

  it('rejects an unknown SDK and reads no declarative fields for it', () => {
    const { data, warnings } = parseSpaceCard('---\nsdk: nextjs\nsystem_prompt: hi\n---\n');
    expect(data.sdk).toBeUndefined();
    expect(data.declarative).toBeUndefined();
    expect(warnings).toEqual(['`sdk` must be one of gradio, streamlit, docker, static, chat, completion; it is ignored.']);
  });
});
