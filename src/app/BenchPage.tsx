import { useMemo, useState, type CSSProperties } from 'react';
import { percent, shapeNotes, sig, targetLines, TARGETS, typeLabel } from '../bench/table.ts';
import { median } from '../bench/timing.ts';
import type { BenchMode, BenchResult, MatmulCase } from '../bench/types.ts';

/** Within a day, the Chromium run first: it alone has the peers beside ours. */
const RUNTIME_ORDER: Record<BenchResult['runtime'], number> = { chromium: 0, dawn: 1, browser: 2 };

/** Every run saved under bench/results/, bundled at build time, newest day first. */
const saved: BenchResult[] = Object.values(
  import.meta.glob<BenchResult>('../../bench/results/*.json', { eager: true, import: 'default' }),
).sort((a, b) => b.date.slice(0, 10).localeCompare(a.date.slice(0, 10)) || RUNTIME_ORDER[a.runtime] - RUNTIME_ORDER[b.runtime]);

type Live = { status: 'idle' } | { status: 'running'; log: string[] } | { status: 'done'; result: BenchResult; log: string[] } | { status: 'failed'; error: string; log: string[] };

const barTrack: CSSProperties = { position: 'relative', height: '1.1rem', background: 'var(--surface)', border: '1px solid var(--border)', borderRadius: 4, flex: 1 };
const barFill: CSSProperties = { position: 'absolute', inset: '0 auto 0 0', background: 'var(--accent-bg)', borderRadius: 3 };
const barRow: CSSProperties = { display: 'flex', alignItems: 'center', gap: '0.5rem', margin: '0.15rem 0' };
const barLabel: CSSProperties = { width: '4rem', fontFamily: 'var(--mono)', fontSize: '0.85rem' };
const barValue: CSSProperties = { width: '11rem', fontSize: '0.85rem', color: 'var(--muted)' };
const tableStyle: CSSProperties = { borderCollapse: 'collapse', fontSize: '0.85rem', margin: '0.5rem 0 1rem' };
const cell: CSSProperties = { border: '1px solid var(--border)', padding: '0.2rem 0.45rem', textAlign: 'right' };

/** A horizontal bar: `fraction` of the track filled, and an optional target mark. */
function Bar({ label, fraction, value, target }: { label: string; fraction: number; value: string; target?: number }) {
  return (
    <div style={barRow}>
      <span style={barLabel}>{label}</span>
      <span style={barTrack} aria-hidden="true">
        <span style={{ ...barFill, width: `${Math.min(1, Math.max(0, fraction)) * 100}%` }} />
        {target !== undefined && <span style={{ position: 'absolute', top: -2, bottom: -2, left: `${target * 100}%`, borderLeft: '2px dashed var(--muted)' }} />}
      </span>
      <span style={barValue}>{value}</span>
    </div>
  );
}

function groupsOf(cases: MatmulCase[]): [string, MatmulCase[]][] {
  const out = new Map<string, MatmulCase[]>();
  for (const c of cases) {
    const key = `${c.model} · ${c.K}→${c.N}`;
    out.set(key, [...(out.get(key) ?? []), c]);
  }
  return [...out];
}

function GemvChart({ result }: { result: BenchResult }) {
  return (
    <section>
      <h3>GEMV (decode): share of copy bandwidth</h3>
      <p className="hint">
        Bars are GB/s ÷ the copy kernel's {sig(result.copy.gbps)} GB/s; the dashed line is the {percent(TARGETS.gemvShareOfCopy)} target.
      </p>
      {groupsOf(result.gemv).map(([shape, cases]) => (
        <figure key={shape} style={{ margin: '0.5rem 0 1rem' }}>
          <figcaption>{shape}</figcaption>
          {cases.map((c) => (
            <Bar
              key={c.type}
              label={typeLabel(c)}
              fraction={c.shareOfCopy ?? 0}
              target={TARGETS.gemvShareOfCopy}
              value={c.skipped ? 'not run' : `${sig(c.gbps!)} GB/s · ${percent(c.shareOfCopy!)}`}
            />
          ))}
        </figure>
      ))}
    </section>
  );
}

function GemmChart({ result }: { result: BenchResult }) {
  const top = Math.max(...result.gemm.map((c) => c.gflops ?? 0), 1e-9);
  return (
    <section>
      <h3>GEMM (prefill, M = {result.gemm[0]?.M}): GFLOP/s</h3>
      {groupsOf(result.gemm).map(([shape, cases]) => (
        <figure key={shape} style={{ margin: '0.5rem 0 1rem' }}>
          <figcaption>{shape}</figcaption>
          {cases.map((c) => {
            const peers = (c.peers ?? []).filter((p) => p.speedup !== undefined).map((p) => `${sig(p.speedup!)}× vs ${p.peer}`);
            return (
              <Bar
                key={c.type}
                label={typeLabel(c)}
                fraction={(c.gflops ?? 0) / top}
                value={c.skipped ? 'not run' : `${sig(c.gflops!)} GFLOP/s${peers.length ? ` · ${peers.join(', ')}` : ''}`}
              />
            );
          })}
        </figure>
      ))}
    </section>
  );
}

function E2eTable({ result }: { result: BenchResult }) {
  if (result.e2e.length === 0) return null;
  const head = ['model', 'type', 'layers', 'prefill tok/s', 'decode tok/s', 'TTFT ms', 'bound tok/s', 'share', 'GPU MiB', 'dispatches/tok', 'encode ms/tok', 'llama.cpp decode tok/s'];
  return (
    <section>
      <h3>End to end (random weights)</h3>
      <div style={{ overflowX: 'auto' }}>
        <table style={tableStyle}>
          <thead>
            <tr>{head.map((h) => <th key={h} style={cell}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {result.e2e.map((e) => (
              <tr key={e.file}>
                <td style={{ ...cell, textAlign: 'left' }}>{e.model}</td>
                <td style={cell}>{e.type}</td>
                <td style={cell}>{e.layers}</td>
                <td style={cell}>{sig(e.prefillTokensPerSecond)}</td>
                <td style={cell}>{sig(e.decodeTokensPerSecond)}</td>
                <td style={cell}>{sig(e.ttftMs)}</td>
                <td style={cell}>{sig(e.boundTokensPerSecond)}</td>
                <td style={cell}>{percent(e.shareOfBound)}</td>
                <td style={cell}>{sig(e.gpuBytes / 2 ** 20)}</td>
                <td style={cell}>{sig(e.perToken.dispatches)}</td>
                <td style={cell}>{sig(e.perToken.encodeMs)}</td>
                <td style={cell}>{e.llamaCpp?.decodeTokensPerSecond === undefined ? '—' : sig(e.llamaCpp.decodeTokensPerSecond)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="hint">
        {shapeNotes(result.e2e).map((note) => (
          <li key={note}>{note}</li>
        ))}
      </ul>
    </section>
  );
}

function ResultView({ result }: { result: BenchResult }) {
  const a = result.adapter;
  const unavailable = result.peers.filter((p) => p.unavailable).map((p) => `${p.peer}: ${p.unavailable}`);
  return (
    <article>
      <h2>
        {a.name} <small className="hint">({result.runtime}, {result.mode}, {result.date.slice(0, 10)})</small>
      </h2>
      {a.software && (
        <p role="note">
          <strong>{a.name} is a CPU implementation of WebGPU:</strong> its numbers say nothing about a real GPU.
        </p>
      )}
      <p>
        Copy kernel: <strong>{sig(result.copy.gbps)} GB/s</strong> (copyBufferToBuffer {sig(result.copy.copyBufferGbps)} GB/s). GPU time from{' '}
        {a.timestamps ? 'timestamp queries' : 'the wall clock (no timestamp-query)'}.
      </p>
      <GemvChart result={result} />
      <GemmChart result={result} />
      <E2eTable result={result} />
      <ul>
        {targetLines(result)
          .filter((line) => line.startsWith('- '))
          .map((line) => (
            <li key={line}>{line.slice(2)}</li>
          ))}
      </ul>
      {(unavailable.length > 0 || result.pending.length > 0) && (
        <details>
          <summary>Not measured in this run</summary>
          <ul>
            {[...unavailable, ...result.pending].map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}

/** The median over the GEMV cases that ran of their share of copy bandwidth. */
function medianShare(result: BenchResult): string {
  const shares = result.gemv.filter((c) => c.shareOfCopy !== undefined).map((c) => c.shareOfCopy!);
  return shares.length ? percent(median(shares)) : '—';
}

function downloadUrl(result: BenchResult): string {
  return URL.createObjectURL(new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' }));
}

/**
 * /bench: the runs saved by `npm run bench` (bench/results/), and the kernel suite run live on
 * the visitor's GPU. The live run leaves out the peers (their wasm alone is tens of MiB) and the
 * end-to-end models (written by the Node runner).
 */
export function BenchPage() {
  const [selected, setSelected] = useState(0);
  const [mode, setMode] = useState<BenchMode>('quick');
  const [live, setLive] = useState<Live>({ status: 'idle' });
  const liveResult = live.status === 'done' ? live.result : undefined;
  const shown = liveResult ?? saved[selected];
  const download = useMemo(() => (liveResult ? downloadUrl(liveResult) : undefined), [liveResult]);

  const run = async () => {
    const log: string[] = [];
    setLive({ status: 'running', log });
    try {
      const { runSuite } = await import('../bench/suite.ts');
      const result = await runSuite({
        gpu: navigator.gpu,
        mode,
        runtime: 'browser',
        log: (line) => {
          log.push(line);
          setLive({ status: 'running', log: [...log] });
        },
      });
      setLive({ status: 'done', result, log });
    } catch (err) {
      setLive({ status: 'failed', error: err instanceof Error ? err.message : String(err), log });
    }
  };

  return (
    <section className="page bench-page">
      <h1>Bench</h1>
      <p className="lead">
        How fast our WebGPU kernels run: GEMV against a copy kernel's bandwidth, GEMM in GFLOP/s, TF.js and onnxruntime-web on the same shapes, and
        whole-model decode against its bandwidth bound.
      </p>
      <p>
        <label>
          Suite{' '}
          <select value={mode} onChange={(e) => setMode(e.target.value as BenchMode)} disabled={live.status === 'running'}>
            <option value="quick">quick (two model shapes, a minute or two)</option>
            <option value="full">full (three shapes, large buffers)</option>
          </select>
        </label>{' '}
        <button type="button" className="button primary" onClick={() => void run()} disabled={live.status === 'running'}>
          {live.status === 'running' ? 'Running…' : 'Run on this GPU'}
        </button>
        {download && (
          <>
            {' '}
            <a className="button" href={download} download={`bench-${liveResult!.date.slice(0, 10)}.json`}>
              Download result
            </a>
          </>
        )}
      </p>
      {live.status !== 'idle' && (
        <pre aria-live="polite" style={{ maxHeight: '12rem', overflow: 'auto', fontSize: '0.8rem' }}>
          {live.log.join('\n')}
          {live.status === 'failed' && `\nfailed: ${live.error}`}
        </pre>
      )}
      {saved.length > 0 && (
        <section aria-label="Saved runs">
          <h2>Saved runs</h2>
          <div style={{ overflowX: 'auto' }}>
            <table style={tableStyle}>
              <thead>
                <tr>
                  {['date', 'runtime', 'adapter', 'copy GB/s', 'median GEMV share', ''].map((h) => (
                    <th key={h} style={cell}>
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {saved.map((r, i) => (
                  <tr key={`${r.date}-${r.runtime}`}>
                    <td style={cell}>{r.date.slice(0, 10)}</td>
                    <td style={cell}>{r.runtime}</td>
                    <td style={{ ...cell, textAlign: 'left' }}>
                      {r.adapter.name}
                      {r.adapter.software ? ' (software)' : ''}
                    </td>
                    <td style={cell}>{sig(r.copy.gbps)}</td>
                    <td style={cell}>{medianShare(r)}</td>
                    <td style={cell}>
                      <button
                        type="button"
                        className="button"
                        aria-pressed={!liveResult && i === selected}
                        aria-label={`Show the ${r.runtime} run of ${r.date.slice(0, 10)} on ${r.adapter.name}`}
                        onClick={() => {
                          setSelected(i);
                          if (live.status === 'done') setLive({ status: 'idle' });
                        }}
                      >
                        Show
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {shown ? <ResultView result={shown} /> : <p className="hint">No saved runs yet: `npm run bench` writes them to bench/results/.</p>}
    </section>
  );
}
