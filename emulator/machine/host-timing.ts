/**
 * HostTiming: what the run loop needs from its host to pace itself. Injected, so the
 * machine itself never reads the wall clock (ARCHITECTURE principle 4); the Node
 * implementation lives in emulator/host/node-timing.ts.
 */
export interface HostTiming {
  /** Monotonic host milliseconds (fractional). */
  nowMs(): number;
  /** Lets the host's event loop run (I/O completions, messages), then resumes. */
  yield(): Promise<void>;
  /** Sleeps up to `ms` host milliseconds, or less if `wake()` is called. */
  sleep(ms: number): Promise<void>;
  /** Ends a pending `sleep` early (an I/O completion raised an interrupt). */
  wake(): void;
}
