/**
 * The VM's screen: the "Screen" tab of the console panel, with {@link ScreenViewProps} as
 * its whole contract. It shows the live console (noVNC over the emulator's RFB server: a
 * WebSocket in the browser shell, a MessagePort in the desktop shell; see VncView). noVNC
 * is loaded when a screen is first shown (keeps it out of the start-up bundle).
 */
import { Suspense, lazy } from 'react';
import type { VmEntry } from '../../../../protocol/index.js';

const VncView = lazy(() => import('./VncView.js').then((m) => ({ default: m.VncView })));

/** What the screen view needs: the VM (its id, name and run state). */
export interface ScreenViewProps {
  vm: VmEntry;
}

/** The screen of `vm` (see the module comment). */
export function ScreenView({ vm }: ScreenViewProps) {
  return (
    <Suspense fallback={<p className="placeholder">Loading the screen…</p>}>
      <VncView key={vm.config.id} vm={vm} />
    </Suspense>
  );
}
