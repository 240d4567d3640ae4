import { lazy, Suspense } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router-dom';
import { ChatPage } from './ChatPage.tsx';
import { EmbedPage } from './EmbedPage.tsx'; // embeds
import { HomePage } from './HomePage.tsx';
import { Layout } from './Layout.tsx';
import { ModelPage } from './ModelPage.tsx';
import { ModelsPage } from './ModelsPage.tsx';
import { NotFoundPage } from './NotFoundPage.tsx';
import { SettingsPage } from './SettingsPage.tsx';
import { SpacePage } from './SpacePage.tsx'; // spaces
import { SpacesPage } from './SpacesPage.tsx'; // spaces
import { StoragePage } from './StoragePage.tsx';

// Lazy: the page bundles every saved result in bench/results.
const BenchPage = lazy(() => import('./BenchPage.tsx').then((m) => ({ default: m.BenchPage })));

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="embed/spaces/:owner/:name" element={<EmbedPage kind="space" />} /> {/* embeds */}
        <Route path="embed/model/:owner/:name" element={<EmbedPage kind="model" />} /> {/* embeds */}
        <Route element={<Layout />}>
          <Route index element={<HomePage />} />
          <Route path="chat" element={<ChatPage />} />
          <Route path="storage" element={<StoragePage />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="models" element={<ModelsPage />} />
          <Route
            path="bench"
            element={
              <Suspense>
                <BenchPage />
              </Suspense>
            }
          />

          {/* Spaces: /spaces and /spaces/:owner/:name go here. Static segments outrank the
              dynamic model route below, and ModelPage refuses reserved owners ('spaces', 'hub',
              'embed', …), so a path like /spaces/x can never open as a model. */}
          <Route path="spaces" element={<SpacesPage />} /> {/* spaces */}
          <Route path="spaces/:owner/:name" element={<SpacePage />} /> {/* spaces */}

          {/* Last among the two-segment routes: a model at /<owner>/<name>, as on the Hub. */}
          <Route path=":owner/:name" element={<ModelPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}
