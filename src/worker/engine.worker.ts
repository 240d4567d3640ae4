// The engine's thread: wiring only. The UI reaches it through src/client/engineClient.ts.
import * as Comlink from 'comlink';
import { Engine } from '../engine/engine.ts';
import type { EngineApi } from '../protocol/index.ts';
import { checkQuota, idbStore, withFileLock } from '../storage/idbStore.ts';
import { registerErrorTransfer } from './errorTransfer.ts';
import { WorkerEngine } from './workerEngine.ts';

registerErrorTransfer();
const engine: EngineApi = new WorkerEngine({ engine: new Engine(), store: idbStore(), lock: withFileLock, checkSpace: checkQuota });
Comlink.expose(engine);
