/**
 * Host side of a machine's network and entropy: starts passt for user-mode networking
 * (or nothing), and provides the virtio-rng entropy source from the host's CSPRNG.
 */
import { webcrypto } from 'node:crypto';
import type { NetBackend } from '../net/net-backend.js';
import { PasstBackend, type PasstPortForward } from './passt-backend.js';

/** A host->guest port forward, as QEMU's `hostfwd=tcp:127.0.0.1:2222-:22`. */
export type PortForward = PasstPortForward;

/** Parses QEMU's `hostfwd=PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT`. Throws naming the problem. */
export function parseHostForward(text: string): PortForward {
  const m = /^(tcp|udp):([0-9.]*):(\d+)-[0-9.]*:(\d+)$/.exec(text);
  if (!m) throw new Error(`hostfwd: expected tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport, got "${text}"`);
  const hostPort = Number(m[3]);
  const guestPort = Number(m[4]);
  for (const p of [hostPort, guestPort]) if (p < 1 || p > 65535) throw new Error(`hostfwd: port ${p} is outside 1..65535`);
  return { protocol: m[1] as 'tcp' | 'udp', hostPort, guestPort, ...(m[2] ? { hostAddress: m[2] } : {}) };
}

/** A started NIC backend with the guest MAC address. */
export interface StartedNetwork {
  backend: NetBackend;
  mac: Uint8Array;
}

/** Starts passt for user-mode networking; its errors name the missing package when passt is absent. */
export async function startUserNetwork(portForwards: readonly PortForward[], log?: (m: string) => void): Promise<StartedNetwork> {
  const backend = await PasstBackend.start({ portForwards, log });
  return { backend, mac: Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56) };
}

/** The host CSPRNG as a virtio-rng entropy source (in pieces of at most 64 KiB, its limit). */
export function hostEntropy(dest: Uint8Array): void {
  for (let off = 0; off < dest.length; off += 65536) webcrypto.getRandomValues(dest.subarray(off, Math.min(dest.length, off + 65536)));
}
