/**
 * NetBackend: the contract between a guest network card (virtio-net) and the host side
 * of the link (passt user-mode networking, a null link, a test loopback). Frames are
 * whole Ethernet frames without FCS, as the guest sends them and as it receives them.
 *
 * `send` never blocks and never throws for a full host buffer: a backend that cannot
 * keep up drops and counts, like a real link. Received frames are delivered to the one
 * handler registered with `onReceive`, on the host event loop.
 */

/** A host-side network link for one guest NIC. */
export interface NetBackend {
  /** Transmits one Ethernet frame from the guest. */
  send(frame: Uint8Array): void;
  /** Registers the handler of frames for the guest (replaces any previous handler). */
  onReceive(handler: (frame: Uint8Array) => void): void;
  /** Closes the link and releases host resources; no frames are delivered afterwards. */
  close(): Promise<void>;
}

/** Largest Ethernet frame accepted on the link (64 KiB, passt's MTU 65520 plus headers). */
export const NET_MAX_FRAME_BYTES = 65536 + 14;
