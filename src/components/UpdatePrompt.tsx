/// <reference types="vite-plugin-pwa/react" />
// Registers the service worker (vite.config.ts, pwaOptions) and says what it did: once, that the
// first install cached the app for offline use; and, whenever a new build has installed and
// waits, that a reload would start it. The user picks the moment, never mid-chat or mid-download.
import { useRegisterSW } from 'virtual:pwa-register/react';
import { UpdateNotice } from './UpdateNotice.tsx';

export function UpdatePrompt() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW();
  return (
    <UpdateNotice
      needRefresh={needRefresh}
      offlineReady={offlineReady}
      onReload={() => void updateServiceWorker()}
      onLater={() => setNeedRefresh(false)}
      onDismiss={() => setOfflineReady(false)}
    />
  );
}
