/**
 * Worker-thread entry of the worker-memory benchmark (bench/workermem-child.mjs): wraps
 * the real emulator worker, dist/emulator/worker/machine-worker.js, in the same thread.
 *
 * Before importing it, SharedArrayBuffer is replaced (in this worker's isolate only) by a
 * subclass that records every buffer of 1 MiB or more (the machine's GuestMemory: guest
 * RAM + ROMs + VRAM) and, with `workerData.touch`, writes one byte per 4 KiB page so the
 * whole buffer is resident from the start, as if the guest had used all its RAM. The sizes
 * go to the parent as `{ type: 'bench-sab', bytes }` before the worker's own messages.
 */
import { parentPort, workerData } from 'node:worker_threads';

const PAGE = 4096;
const Native = globalThis.SharedArrayBuffer;
class BenchSharedArrayBuffer extends Native {
  constructor(length, options) {
    super(length, options);
    if (this.byteLength >= 1 << 20) {
      if (workerData?.touch) {
        const u8 = new Uint8Array(this);
        for (let i = 0; i < u8.length; i += PAGE) u8[i] = 0;
      }
      parentPort.postMessage({ type: 'bench-sab', bytes: this.byteLength, touched: Boolean(workerData?.touch) });
    }
  }
}
globalThis.SharedArrayBuffer = BenchSharedArrayBuffer;
await import(new URL('../dist/emulator/worker/machine-worker.js', import.meta.url).href);
