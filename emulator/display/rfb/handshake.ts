/**
 * RFB handshake pieces (RFC 6143 sections 7.1 "Handshake Messages" and 7.3
 * "Initialization Messages"): ProtocolVersion, security types, SecurityResult,
 * ServerInit.
 *
 * Versions: the server offers 3.8. A client answering 3.3 or 3.7 gets that version's
 * handshake (3.3: the server picks the security type and sends it as a u32; 3.3/3.7:
 * no SecurityResult after None and no reason string after a failure). As RFC 6143
 * Appendix A advises, other 3.x minors are treated as 3.3 (below 7) or 3.8 (above 8).
 */
import type { ByteWriter } from './byte-writer.js';
import { writePixelFormat, type PixelFormat } from './pixel-format.js';

/** What the server sends first. */
export const SERVER_VERSION = 'RFB 003.008\n';
/** Length of a ProtocolVersion message. */
export const VERSION_BYTES = 12;

/** Security type None. */
export const SEC_NONE = 1;
/** Security type VNC Authentication. */
export const SEC_VNC_AUTH = 2;
/** SecurityResult values. */
export const SEC_RESULT_OK = 0;
export const SEC_RESULT_FAILED = 1;
/** Length of the VNC Authentication challenge and response. */
export const VNC_CHALLENGE_BYTES = 16;

/** A negotiated protocol minor version. */
export type RfbMinor = 3 | 7 | 8;

/** Parses a client ProtocolVersion; returns the minor version to speak or an error. */
export function parseClientVersion(b: Uint8Array): { minor: RfbMinor } | { error: string } {
  const text = String.fromCharCode(...b);
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
  if (m === null) return { error: `bad ProtocolVersion ${JSON.stringify(text)}` };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 3) return { error: `unsupported protocol version ${major}.${minor}` };
  if (minor >= 8) return { minor: 8 };
  if (minor === 7) return { minor: 7 };
  return { minor: 3 };
}

/** Appends a SecurityResult, with the failure reason string on 3.8. */
export function writeSecurityResult(out: ByteWriter, ok: boolean, minor: RfbMinor, reason: string): void {
  out.u32(ok ? SEC_RESULT_OK : SEC_RESULT_FAILED);
  if (!ok && minor === 8) writeString(out, reason);
}

/** Appends a u32 length and the UTF-8 bytes of a string. */
export function writeString(out: ByteWriter, s: string): void {
  const bytes = new TextEncoder().encode(s);
  out.u32(bytes.length);
  out.bytes(bytes);
}

/** Appends ServerInit: size, the server's pixel format and the desktop name (UTF-8). */
export function writeServerInit(out: ByteWriter, width: number, height: number, format: PixelFormat, name: string): void {
  out.u16(width);
  out.u16(height);
  const pf = out.reserve(16);
  writePixelFormat(format, pf, out.length);
  out.length += 16;
  writeString(out, name);
}
