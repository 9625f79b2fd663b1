/**
 * virtio entropy device (virtio 1.2 §5.4): one request queue of device-writable buffers
 * that the device fills with random bytes from an injected source. No feature bits, no
 * configuration space.
 *
 * Each chain receives at most `maxBytesPerRequest` bytes (QEMU rate-limits similarly);
 * a chain with readable buffers is a guest error that is counted and completed empty.
 * Left out: rate limiting against a byte budget per virtual second.
 */
import type { AccessSize, DeviceState } from '../device.js';
import { VIRTIO_ID_RNG } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { obj, version } from '../state-check.js';

/** Fills `dest` with entropy (the host uses crypto.getRandomValues or /dev/urandom). */
export type EntropySource = (dest: Uint8Array) => void;

/** Construction options of a virtio-rng device. */
export interface VirtioRngOptions {
  readonly id: string;
  readonly entropy: EntropySource;
  /** Upper bound per request (default 64 KiB). */
  readonly maxBytesPerRequest?: number;
}

/** virtio-rng: entropy for the guest's hw_random / viorng. */
export class VirtioRng implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_RNG;
  readonly queueMaxSizes = [256];
  readonly deviceFeatures = 0n;
  readonly configSizeBytes = 0;
  /** Bytes handed to the guest so far. */
  bytesServed = 0;
  private readonly entropy: EntropySource;
  private readonly maxBytes: number;
  private ctx: VirtioDeviceContext | null = null;

  constructor(opts: VirtioRngOptions) {
    this.id = opts.id;
    this.entropy = opts.entropy;
    this.maxBytes = opts.maxBytesPerRequest ?? 65536;
  }

  readConfig(_offset: number, _size: AccessSize): number { return 0; }
  writeConfig(): void { /* no configuration space */ }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.queueNotify(0);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live || index !== 0) return;
    const q = ctx.queue(0);
    if (!q) return;
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      let n = 0;
      if (c.readableBytes > 0) ctx.misuse(`${this.id}: request with ${c.readableBytes} device-readable bytes`);
      else {
        const buf = new Uint8Array(Math.min(c.writableBytes, this.maxBytes));
        this.entropy(buf);
        if (c.write(ctx.memory, 0, buf)) n = buf.length;
        else ctx.misuse(`${this.id}: cannot write the request buffer`);
      }
      this.bytesServed += n;
      ctx.addUsed(0, c.head, n);
      any = true;
    }
    if (any) ctx.signal(0);
  }

  reset(): void {
    this.ctx = null;
  }

  saveState(): DeviceState {
    return { v: 1 };
  }

  loadState(state: unknown): void {
    version(this.id, obj(this.id, state), 1);
  }
}
