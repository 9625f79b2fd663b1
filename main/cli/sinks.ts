/**
 * Output sinks for the CLI's `--serial` and `--debugcon` options: `stdio`, `file:PATH`, or
 * `none`. A sink also keeps a bounded tail of what passed through, for `--exit-on`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

/** A byte sink with a searchable tail. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

/** Parses `stdio | file:PATH | none` into a sink. Throws with a clear message otherwise. */
export function openSink(spec: string, option: string): ByteSink | null {
  if (spec === 'none') return null;
  if (spec === 'stdio') {
    return {
      write: (b) => { process.stdout.write(b); },
      close: () => Promise.resolve(),
    };
  }
  if (spec.startsWith('file:') && spec.length > 5) {
    const stream: WriteStream = createWriteStream(spec.slice(5));
    return {
      write: (b) => { stream.write(b); },
      close: () => new Promise((resolve) => stream.end(resolve)),
    };
  }
  throw new Error(`${option}: expected stdio, file:PATH or none, got "${spec}"`);
}

/** Watches a byte stream for a string (across chunk boundaries). */
export class StringWatcher {
  private tail = '';
  constructor(private readonly needle: string, private readonly onMatch: () => void) {}
  /** Feeds bytes; calls onMatch once when the needle has appeared. */
  feed(bytes: Uint8Array): void {
    if (this.needle === '') return;
    this.tail += Buffer.from(bytes).toString('latin1');
    if (this.tail.includes(this.needle)) {
      this.tail = '';
      this.onMatch();
      return;
    }
    if (this.tail.length > this.needle.length * 4 + 4096) this.tail = this.tail.slice(-this.needle.length);
  }
}
