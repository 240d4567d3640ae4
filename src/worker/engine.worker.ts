// The engine's thread: wiring only. The UI reaches it through src/client/engineClient.ts.
import * as Comlink from 'comlink';
import { Engine } from '../engine/engine.ts';
import type { EngineApi } from '../protocol/index.ts';
import { registerErrorTransfer } from './errorTransfer.ts';

registerErrorTransfer();
const engine: EngineApi = new Engine();
Comlink.expose(engine);
