// The script of /sdk/host.html, the page the SDK opens in a hidden iframe on any site that uses
// it. Any origin may connect: that is the point of an SDK. So this page offers nothing but the
// host's two requests, load and generate, and it is careful about what they reveal:
// - no listing of the weight store, no conversations, no settings come back, only the loaded
//   model's shape (hostEngine.ts: no adapter name either);
// - the user's access token is never used for these loads (hostEngine.ts), so a site cannot
//   reach the user's gated or private repos;
// - what a site can still tell is whether a model was cached (a load without download
//   progress), and it can fill the storage the browser gives it. Browsers that partition
//   third-party storage give each embedding site its own weight cache, so that only says what
//   this same site loaded before.
import { HOST_READY, SDK_PROTOCOL_VERSION, type HostReadyMessage } from './messages.ts';
import { appHost } from './hostEngine.ts';

if (window.parent !== window) {
  appHost().listen(window, (event) => event.source === window.parent);
  // Carries nothing but the version, so any origin may hear it.
  window.parent.postMessage({ type: HOST_READY, version: SDK_PROTOCOL_VERSION } satisfies HostReadyMessage, '*');
}
