/**
 * QEMU's `-netdev stream` framing (net/stream.c, as spoken by passt): each Ethernet
 * frame travels on the byte stream as a 4-byte big-endian length followed by the frame.
 * `StreamFrameDecoder` reassembles frames from arbitrary chunks (partial reads, several
 * frames per chunk); a length of 0 or above the limit means the peer is not speaking
 * this protocol, and the decoder stops (reported, never thrown).
 */

/** Prefixes `frame` with its 4-byte big-endian length. */
export function encodeStreamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, false);
  out.set(frame, 4);
  return out;
}

/** Reassembles length-prefixed frames from a byte stream. */
export class StreamFrameDecoder {
  private buf = new Uint8Array(0);
  private failed: string | null = null;

  /** `maxFrameBytes` bounds one frame (a larger length is a protocol error). */
  constructor(private readonly maxFrameBytes: number) {}

  /** Why decoding stopped, or null. */
  get error(): string | null {
    return this.failed;
  }

  /** Bytes buffered towards the next frame. */
  get bufferedBytes(): number {
    return this.buf.length;
  }

  /** Appends `chunk` and returns the frames completed by it. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== null) return [];
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const frames: Uint8Array[] = [];
    let at = 0;
    while (joined.length - at >= 4) {
      const len = new DataView(joined.buffer, at, 4).getUint32(0, false);
      if (len === 0 || len > this.maxFrameBytes) {
        this.failed = `frame length ${len} outside 1..${this.maxFrameBytes}`;
        this.buf = new Uint8Array(0);
        return frames;
      }
      if (joined.length - at - 4 < len) break;
      frames.push(joined.slice(at + 4, at + 4 + len));
      at += 4 + len;
    }
    this.buf = joined.slice(at);
    return frames;
  }
}
