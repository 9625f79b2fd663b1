/** Renderer entry: pick the host client for this shell, build the store, render. */
import './zod-config.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.js';
import { chooseHostClient } from './host-client/index.js';
import { StoreProvider } from './store/context.js';
import { bindStoreToHost, createAppStore } from './store/store.js';
import './styles.css';

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('index.html has no #root element');

try {
  const client = chooseHostClient();
  const store = createAppStore(client);
  bindStoreToHost(store, client);
  createRoot(rootElement).render(
    <StrictMode>
      <StoreProvider store={store}>
        <App />
      </StoreProvider>
    </StrictMode>,
  );
} catch (err) {
  const p = document.createElement('p');
  p.className = 'fatal';
  p.textContent = err instanceof Error ? err.message : String(err);
  rootElement.replaceChildren(p);
}
