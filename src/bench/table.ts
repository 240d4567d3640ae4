import type { BenchResult, LlamaCppPoint, MatmulCase, PeerName, WeightType } from './types.ts';

/** The issue's targets, checked in the summary. */
export const TARGETS = { gemvShareOfCopy: 0.7, gemmOverFasterPeer: 5, decodeShareOfBound: 0.6 } as const;

const PEER_TITLES: Record<PeerName, string> = { tfjs: 'TF.js', ort: 'ORT-web' };

/** Three significant digits, without exponent notation for the magnitudes a bench sees. */
export function sig(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function percent(share: number): string {
  return `${(100 * share).toFixed(0)}%`;
}

function mib(bytes: number): string {
  return `${sig(bytes / 2 ** 20)} MiB`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], rows: string[][]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

/** Cases grouped by model and orientation, in the order they ran. */
function groups(cases: MatmulCase[]): MatmulCase[][] {
  const out = new Map<string, MatmulCase[]>();
  for (const c of cases) {
    const key = `${c.model} ${c.orientation}`;
    out.set(key, [...(out.get(key) ?? []), c]);
  }
  return [...out.values()];
}

function typesOf(cases: MatmulCase[]): WeightType[] {
  return [...new Set(cases.map((c) => c.type))];
}

/** A case's type, and the type it ran in where that differs: "Q4_K as Q5_0". */
export function typeLabel(c: MatmulCase): string {
  return c.storedType ? `${c.type} as ${c.storedType}` : c.type;
}

/** A column's title: its type, and where its cases ran in another type, which and at which K: "Q4_K (Q5_0 at K=576, 896)". */
function typeHeader(type: WeightType, cases: MatmulCase[]): string {
  const at = new Map<string, number[]>();
  for (const c of cases) {
    if (c.type !== type || !c.storedType) continue;
    const ks = at.get(c.storedType) ?? [];
    if (!ks.includes(c.K)) ks.push(c.K);
    at.set(c.storedType, ks);
  }
  if (!at.size) return type;
  return `${type} (${[...at].map(([stored, ks]) => `${stored} at K=${ks.sort((a, b) => a - b).join(', ')}`).join('; ')})`;
}

/** Why a column names a second type, when one does. */
function fallbackNote(cases: MatmulCase[]): string[] {
  const pairs = [...new Set(cases.filter((c) => c.storedType).map((c) => `${c.type} → ${c.storedType}`))];
  if (!pairs.length) return [];
  return [
    `- In brackets (GEMV and GEMM): the type a case ran in where rows of K weights are not whole blocks of the column's type. llama.cpp's quantizer falls back to that type for such a tensor (${pairs.join(', ')}), and so do our random models.`,
    '',
  ];
}

function shapeCell(c: MatmulCase): string {
  return `${c.model} ${c.K}→${c.N}`;
}

function peerNames(result: BenchResult): PeerName[] {
  return result.peers.map((p) => p.peer);
}

/** ours ÷ peer as a speed ratio, or why there is none. */
function peerCell(c: MatmulCase, peer: PeerName): string {
  const t = c.peers?.find((p) => p.peer === peer);
  if (!t) return '—';
  if (t.speedup === undefined) return 'n/a';
  return `${sig(t.speedup)}×`;
}

/** The smallest of ours ÷ the faster peer over the f32 GEMM cases, or undefined without peers. */
export function gemmOverFasterPeer(result: BenchResult): number | undefined {
  const ratios = result.gemm
    .filter((c) => c.type === 'F32' && c.peers?.some((p) => p.speedup !== undefined))
    .map((c) => Math.min(...c.peers!.filter((p) => p.speedup !== undefined).map((p) => p.speedup!)));
  return ratios.length ? Math.min(...ratios) : undefined;
}

/** The markdown report of one run: what ran where, each table, the targets, and what is missing. */
export function formatResult(result: BenchResult): string {
  const a = result.adapter;
  const lines: string[] = [
    `### ${a.name} — ${result.runtime}, ${result.mode}, ${result.date.slice(0, 10)}`,
    '',
    `- Adapter: ${a.name}${a.software ? ' — **a CPU implementation of WebGPU: these numbers say nothing about a real GPU**' : ''}`,
    `- GPU time from ${a.timestamps ? 'timestamp queries' : 'wall clock around onSubmittedWorkDone (no timestamp-query)'}; each figure is the median of ${result.copy.timing.samples} samples`,
    `- Copy kernel (the roofline): **${sig(result.copy.gbps)} GB/s** over ${mib(result.copy.bytes)}; copyBufferToBuffer ${sig(result.copy.copyBufferGbps)} GB/s`,
    '',
  ];

  const gemvTypes = typesOf(result.gemv);
  lines.push('GEMV (decode, M = 1): GB/s and share of the copy kernel', '');
  lines.push(
    ...table(
      ['shape K→N', ...gemvTypes.map((type) => typeHeader(type, result.gemv))],
      groups(result.gemv).map((g) => [
        shapeCell(g[0]),
        ...gemvTypes.map((type) => {
          const c = g.find((x) => x.type === type);
          return !c || c.skipped ? '—' : `${sig(c.gbps!)} (${percent(c.shareOfCopy!)})`;
        }),
      ]),
    ),
    '',
  );

  const gemmTypes = typesOf(result.gemm);
  const peers = peerNames(result);
  lines.push(`GEMM (prefill, M = ${result.gemm[0]?.M ?? '—'}): GFLOP/s${peers.length ? '; f32 speed against each peer (above 1×: ours faster)' : ''}`, '');
  lines.push(
    ...table(
      ['shape K→N', ...gemmTypes.map((type) => typeHeader(type, result.gemm)), ...peers.map((p) => `F32 vs ${PEER_TITLES[p]}`)],
      groups(result.gemm).map((g) => {
        const f32 = g.find((c) => c.type === 'F32');
        return [
          shapeCell(g[0]),
          ...gemmTypes.map((type) => {
            const c = g.find((x) => x.type === type);
            return !c || c.skipped ? '—' : sig(c.gflops!);
          }),
          ...peers.map((p) => (f32 ? peerCell(f32, p) : '—')),
        ];
      }),
    ),
    '',
    ...fallbackNote([...result.gemv, ...result.gemm]),
  );

  const gemvF32 = result.gemv.filter((c) => c.type === 'F32' && c.peers);
  if (peers.length && gemvF32.length) {
    lines.push('GEMV f32 against the peers (wall time per call, one submission each)', '');
    lines.push(
      ...table(
        ['shape K→N', 'ours ms', ...peers.flatMap((p) => [`${PEER_TITLES[p]} ms`, `vs ${PEER_TITLES[p]}`])],
        gemvF32.map((c) => [
          shapeCell(c),
          sig(c.peers![0]?.oursMs ?? NaN),
          ...peers.flatMap((p) => {
            const t = c.peers!.find((x) => x.peer === p);
            return [t?.peerMs === undefined ? 'n/a' : sig(t.peerMs), peerCell(c, p)];
          }),
        ]),
      ),
      '',
    );
  }

  if (result.e2e.length) {
    lines.push(`End to end (random weights, ${result.e2e[0].promptTokens}-token prompt, ${result.e2e[0].decodeTokens} decoded tokens)`, '');
    lines.push(
      ...table(
        ['model', 'type', 'layers', 'prefill tok/s', 'decode tok/s', 'TTFT ms', 'load ms', 'bound tok/s', 'share of bound', 'GPU', 'JS heap', 'dispatches / tok', 'submits / tok', 'encode ms / tok', 'llama.cpp CPU prefill / decode tok/s', 'wllama WebGPU prefill / decode tok/s', 'wllama wasm prefill / decode tok/s'],
        result.e2e.map((e) => [
          e.model,
          e.type,
          String(e.layers),
          sig(e.prefillTokensPerSecond),
          sig(e.decodeTokensPerSecond),
          sig(e.ttftMs),
          sig(e.loadMs),
          sig(e.boundTokensPerSecond),
          percent(e.shareOfBound),
          mib(e.gpuBytes),
          e.peakJsHeapBytes === undefined ? '—' : mib(e.peakJsHeapBytes),
          sig(e.perToken.dispatches),
          sig(e.perToken.submits),
          sig(e.perToken.encodeMs),
          pointCell(e.llamaCpp),
          pointCell(e.wllama?.[0]),
          pointCell(e.wllama?.[1]),
        ]),
      ),
      '',
    );
    lines.push(...shapeNotes(result.e2e).map((note) => `- ${note}`));
    lines.push('');
  }

  lines.push(...targetLines(result), '');
  const unavailable = result.peers.filter((p) => p.unavailable);
  const missing = [...unavailable.map((p) => `${PEER_TITLES[p.peer]} could not run here: ${p.unavailable}`), ...result.pending];
  if (missing.length) lines.push('Not measured in this run:', '', ...missing.map((m) => `- ${m}`), '');
  return lines.join('\n');
}

/** A llama.cpp point as "prefill / decode" tok/s, why it is missing, or a dash when the run had none. */
function pointCell(p: LlamaCppPoint | undefined): string {
  if (!p) return '—';
  if (p.skipped) return `n/a (${p.skipped})`;
  return `${sig(p.prefillTokensPerSecond!)} / ${sig(p.decodeTokensPerSecond!)}`;
}

/** The issue's three targets, each met or not (or not measurable in this run). */
export function targetLines(result: BenchResult): string[] {
  const ran = result.gemv.filter((c) => c.shareOfCopy !== undefined);
  const gemvMet = ran.filter((c) => c.shareOfCopy! >= TARGETS.gemvShareOfCopy).length;
  const gemmRatio = gemmOverFasterPeer(result);
  const smol = result.e2e.filter((e) => e.model.startsWith('SmolLM2'));
  const mark = (ok: boolean) => (ok ? 'met' : 'not met');
  return [
    'Targets:',
    '',
    `- GEMV ≥ ${percent(TARGETS.gemvShareOfCopy)} of copy bandwidth: ${ran.length ? `${gemvMet} of ${ran.length} cases` : 'not measured'}`,
    `- GEMM ≥ ${TARGETS.gemmOverFasterPeer}× the faster WebGPU peer: ${gemmRatio === undefined ? 'no peer ran' : `${sig(gemmRatio)}× at worst — ${mark(gemmRatio >= TARGETS.gemmOverFasterPeer)}`}`,
    `- Decode ≥ ${percent(TARGETS.decodeShareOfBound)} of the bandwidth bound (135M shape): ${
      smol.length ? smol.map((e) => `${e.type} ${percent(e.shareOfBound)} — ${mark(e.shareOfBound >= TARGETS.decodeShareOfBound)}`).join('; ') : 'not measured'
    }`,
  ];
}

/**
 * `<date>-<runtime>-<adapter>[-<part>].json`, the adapter reduced to lowercase words joined by
 * dashes; a run of only the kernels or only the end-to-end cases says so, and does not overwrite
 * the day's whole run.
 */
export function resultFileName(result: BenchResult): string {
  const adapter = result.adapter.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'unknown';
  const kernels = result.gemv.length + result.gemm.length > 0;
  const part = kernels && !result.e2e.length ? '-kernels' : !kernels && result.e2e.length ? '-e2e' : '';
  return `${result.date.slice(0, 10)}-${result.runtime}-${adapter}${part}.json`;
}

/**
 * One note per model with what its rows share, then what a type adds to it (a K-quant's
 * fallback types), so the shared part is not repeated: for the printed table and the /bench page.
 */
export function shapeNotes(rows: { model: string; type: string; shapeNote: string }[]): string[] {
  const notes = new Set<string>();
  for (const model of new Set(rows.map((r) => r.model))) {
    const own = rows.filter((r) => r.model === model);
    const shared = own.map((r) => r.shapeNote).reduce((a, b) => (b.length < a.length ? b : a));
    notes.add(`${model}: ${shared}`);
    for (const r of own) {
      if (r.shapeNote === shared) continue;
      const extra = r.shapeNote.startsWith(`${shared}; `) ? r.shapeNote.slice(shared.length + 2) : r.shapeNote;
      notes.add(`${model} ${r.type}: ${extra}`);
    }
  }
  return [...notes];
}
