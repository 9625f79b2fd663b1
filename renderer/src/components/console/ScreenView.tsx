/**
 * The VM's screen. Today: PNG snapshots (`vm.screenshot`), refreshed on demand and every
 * 2 s while shown and the page is visible.
 *
 * Component boundary: `ScreenView` is what the console panel renders for the "Screen" tab,
 * with {@link ScreenViewProps} as its whole contract. The live console (noVNC over the
 * emulator's RFB server: a WebSocket in the browser shell, a MessagePort in the desktop
 * shell) replaces `SnapshotScreen` behind this same component, with no change to its users.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { VmEntry } from '../../../../protocol/index.js';
import { useAppStore } from '../../store/context.js';

/** What the screen view needs: the VM (its id, name and run state). */
export interface ScreenViewProps {
  vm: VmEntry;
}

/** How often a shown snapshot screen refreshes. */
export const SNAPSHOT_INTERVAL_MS = 2000;

/** The screen of `vm` (see the module comment). */
export function ScreenView({ vm }: ScreenViewProps) {
  return <SnapshotScreen vm={vm} />;
}

function SnapshotScreen({ vm }: ScreenViewProps) {
  const screenshot = useAppStore((s) => s.screenshot);
  const [png, setPng] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);
  const live = vm.state === 'running' || vm.state === 'paused';
  const id = vm.config.id;

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      setPng(await screenshot(id));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      inFlight.current = false;
    }
  }, [screenshot, id]);

  useEffect(() => {
    if (!live) return;
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, SNAPSHOT_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [live, refresh]);

  return (
    <div className="screen-view">
      <div className="console-bar">
        <button type="button" className="btn small" disabled={!live} onClick={() => void refresh()}>Refresh</button>
        <span className="muted">Snapshot every {SNAPSHOT_INTERVAL_MS / 1000} s while shown</span>
      </div>
      {!live && <p className="placeholder">The VM is not running.</p>}
      {live && error && <p className="form-error" role="alert">{error}</p>}
      {live && png && <img className="screen-image" alt={`Screen of ${vm.config.name}`} src={`data:image/png;base64,${png}`} />}
    </div>
  );
}
