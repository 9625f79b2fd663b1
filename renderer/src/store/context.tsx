/** React access to the store: a provider and a typed selector hook. */
import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { AppState, AppStore } from './store.js';

const StoreContext = createContext<AppStore | null>(null);

/** Makes `store` available to `useAppStore` below it. */
export function StoreProvider({ store, children }: { store: AppStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

/** Reads a slice of the store; re-renders when the selected value changes (Object.is). */
export function useAppStore<T>(selector: (s: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore: no StoreProvider above this component');
  return useStore(store, selector);
}

/** The store itself, for actions in event handlers. */
export function useAppStoreApi(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStoreApi: no StoreProvider above this component');
  return store;
}
