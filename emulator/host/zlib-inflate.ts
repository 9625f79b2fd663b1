/**
 * zlib-backed raw-DEFLATE decoder injected into the qcow2 backend (compressed clusters
 * are raw deflate streams, QEMU docs/interop/qcow2.txt "Compressed Clusters Descriptor").
 * Data after the end of the stream (the next compressed cluster) is ignored, and a stream
 * truncated by the end of the file yields what it decodes to (the caller checks length).
 */
import { constants, inflateRawSync } from 'node:zlib';
import type { InflateRaw } from '../storage/qcow2.js';

/** Decompresses a raw deflate stream into at most `maxOutputBytes` bytes. */
export const inflateRawZlib: InflateRaw = (data, maxOutputBytes) => {
  const out = inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: maxOutputBytes });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
