// What the config tests (src/engine/configHf.test.ts, configGguf.test.ts) expect of every parsed
// config, whichever file it came from.

/** gemma2's sliding layers: the even ones. */
export const everyOther = (layers: number) => Array.from({ length: layers }, (_, i) => i % 2 === 0);
/** gemma3's: all but every 6th. */
export const fiveOfSix = (layers: number) => Array.from({ length: layers }, (_, i) => i % 6 !== 5);

/** The fields every Llama-family config has beside its shape. */
export const llamaFamily = {
  norm: 'rms',
  activation: 'silu',
  gatedFfn: true,
  positions: 'rope',
  qkNorm: false,
  postNorms: false,
  embeddingScale: 1,
  normWeightOffset: 0,
} as const;
