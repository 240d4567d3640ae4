import { matmulModel } from './onnx.ts';
import type { PeerName, PeerStatus } from './types.ts';

/** A product prepared in a peer library, timed with wallPerCall like ours. */
export interface PreparedPeer {
  /** Queues one y = x · wᵀ. */
  call(): void | Promise<void>;
  /** Submits what the library has queued and waits for the GPU. */
  sync(): Promise<void>;
  dispose(): void;
}

/** Another WebGPU runtime's matmul, given x [M, K] and w [N, K] as f32 row-major. */
export interface Peer {
  name: PeerName;
  version: string;
  prepare(M: number, K: number, N: number, w: Float32Array, x: Float32Array): Promise<PreparedPeer>;
}

/**
 * TensorFlow.js's WebGPU backend: tf.matMul(x, w, false, true), the call a port of a PyTorch
 * Linear makes. TF.js records into its own command encoder and submits in batches of
 * dispatches; `sync` flushes what is left before waiting.
 */
async function tfjsPeer(): Promise<Peer> {
  const tf = await import('@tensorflow/tfjs-core');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") refused this adapter');
  await tf.ready();
  const backend = tf.backend();
  if (!(backend instanceof WebGPUBackend)) throw new Error(`TF.js chose the ${tf.getBackend()} backend, not WebGPU`);
  return {
    name: 'tfjs',
    version: `@tensorflow/tfjs-backend-webgpu ${tf.version_core}`,
    async prepare(M, K, N, w, x) {
      const xt = tf.tensor2d(x, [M, K]);
      const wt = tf.tensor2d(w, [N, K]);
      return {
        // Disposing at once is safe: TF.js hands the output buffer back to its pool, and later
        // work that reuses it is queued after this product.
        call: () => tf.matMul(xt, wt, false, true).dispose(),
        sync: async () => {
          // submitQueue() finishes TF.js's encoder, which must exist and have no open pass.
          backend.ensureCommandEncoderReady();
          backend.endComputePassEncoder();
          backend.submitQueue();
          await backend.device.queue.onSubmittedWorkDone();
        },
        dispose: () => {
          xt.dispose();
          wt.dispose();
        },
      };
    },
  };
}

/**
 * onnxruntime-web's WebGPU execution provider on a one-node MatMul graph, the weight an
 * initializer. x is a GPU tensor and y stays on the GPU ('gpu-buffer'), so no call pays an
 * upload or a readback.
 */
async function ortPeer(): Promise<Peer> {
  const ort = await import('onnxruntime-web/webgpu');
  // Threads need cross-origin isolation, which neither the app nor the bench page asks for.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return {
    name: 'ort',
    version: `onnxruntime-web ${ort.env.versions.web ?? ''}`.trim(),
    async prepare(M, K, N, w, x) {
      const wKN = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wKN[k * N + n] = w[n * K + k];
      const session = await ort.InferenceSession.create(matmulModel(M, K, N, wKN), {
        executionProviders: ['webgpu'],
        preferredOutputLocation: 'gpu-buffer',
      });
      const device = await ort.env.webgpu.device;
      const xBuffer = device.createBuffer({ label: 'ort x', size: x.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(xBuffer, 0, x.buffer, x.byteOffset, x.byteLength);
      const input = ort.Tensor.fromGpuBuffer(xBuffer, { dataType: 'float32', dims: [M, K] });
      return {
        call: async () => {
          const out = await session.run({ x: input });
          out.y.dispose();
        },
        sync: () => device.queue.onSubmittedWorkDone(),
        dispose: () => {
          void session.release();
          xBuffer.destroy();
        },
      };
    },
  };
}

const LOADERS: Record<PeerName, () => Promise<Peer>> = { tfjs: tfjsPeer, ort: ortPeer };

/**
 * Loads each peer and runs one small product through it, so a peer that cannot run on this
 * adapter is found once, with its reason, instead of failing every case.
 */
export async function loadPeers(log: (line: string) => void): Promise<{ peers: Peer[]; status: PeerStatus[] }> {
  const peers: Peer[] = [];
  const status: PeerStatus[] = [];
  for (const name of Object.keys(LOADERS) as PeerName[]) {
    let version: string | undefined;
    try {
      const peer = await LOADERS[name]();
      version = peer.version;
      const probe = await peer.prepare(1, 32, 32, new Float32Array(32 * 32), new Float32Array(32));
      await probe.call();
      await probe.sync();
      probe.dispose();
      peers.push(peer);
      status.push({ peer: name, version });
      log(`peer ${name}: ${version}`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      status.push({ peer: name, version, unavailable: reason });
      log(`peer ${name} unavailable: ${reason}`);
    }
  }
  return { peers, status };
}
