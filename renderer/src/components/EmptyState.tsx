/** Shown when there are no VMs yet. */
import { useAppStore } from '../store/context.js';

/** Empty library: explains how to create the first VM. */
export function EmptyState() {
  const openDialog = useAppStore((s) => s.openDialog);
  return (
    <section className="empty-state" aria-labelledby="empty-title">
      <h2 id="empty-title">No virtual machines yet</h2>
      <p>
        A virtual machine is a computer that runs inside Vireo. Create one, give it memory and
        processors, then boot an installer for the operating system you want.
      </p>
      <button type="button" className="btn primary" onClick={() => openDialog({ kind: 'new-vm' })}>
        Create your first VM
      </button>
    </section>
  );
}
