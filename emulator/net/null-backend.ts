/**
 * The "no network" link: the NIC is present with its link up, frames it sends vanish
 * (counted), nothing is ever received. Like QEMU's `-nic none` would if the card stayed.
 */
import type { NetBackend } from './net-backend.js';

/** A NetBackend that drops everything. */
export class NullNetBackend implements NetBackend {
  /** Frames the guest sent into the void. */
  framesDropped = 0;

  send(_frame: Uint8Array): void {
    this.framesDropped++;
  }

  onReceive(_handler: (frame: Uint8Array) => void): void {
    // never receives
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
