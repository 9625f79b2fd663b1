/**
 * End to end: a guest driver (the test-support PCI rig) transmits a DHCPDISCOVER through
 * virtio-net; the frame goes to a real passt; passt's DHCPOFFER comes back into the
 * guest's receive buffers. Skipped, with a visible reason, when passt is not installed.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bringUp } from '../devices/virtio/test-support/pci-driver.js';
import { VirtioNet } from '../devices/virtio/virtio-net.js';
import { PasstBackend } from './passt-backend.js';

function passtInstalled(): boolean {
  try { execFileSync('passt', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const HAVE_PASST = passtInstalled();
if (!HAVE_PASST) console.warn('passt-virtio-net.test: passt is not installed (Debian package "passt"): skipped');

const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

function dhcpDiscover(): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 244);
  const dv = new DataView(f.buffer);
  f.fill(0xff, 0, 6); f.set(MAC, 6); dv.setUint16(12, 0x0800);
  f[14] = 0x45; dv.setUint16(16, 20 + 8 + 244); f[22] = 64; f[23] = 17; f.fill(0xff, 30, 34);
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += dv.getUint16(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  dv.setUint16(24, ~s & 0xffff);
  dv.setUint16(34, 68); dv.setUint16(36, 67); dv.setUint16(38, 8 + 244);
  const b = 42;
  f[b] = 1; f[b + 1] = 1; f[b + 2] = 6; dv.setUint32(b + 4, 0xcafe0001); dv.setUint16(b + 10, 0x8000);
  f.set(MAC, b + 28); dv.setUint32(b + 236, 0x63825363); f.set([53, 1, 1, 255], b + 240);
  return f;
}

describe('virtio-net over passt', () => {
  it.skipIf(!HAVE_PASST)('a DHCPDISCOVER sent by the guest is answered into its receive buffers', async () => {
    const link = await PasstBackend.start();
    try {
      const net = new VirtioNet({ id: 'net0', mac: Uint8Array.from(MAC), backend: link });
      const r = bringUp(net, { msix: true });
      const [rx, tx] = [r.queues[0]!, r.queues[1]!];
      const bufs = Array.from({ length: 8 }, () => rx.post([{ writeLen: 2048 }]));
      r.notify(0);
      tx.post([{ data: new Uint8Array(12) }, { data: dhcpDiscover() }]);
      r.notify(1);
      const offer = await new Promise<Uint8Array>((resolve, reject) => {
        const seen: number[] = [];
        const poll = (): void => {
          for (const u of rx.takeUsed()) {
            const at = bufs.find((b) => b.head === u.id)!.gpas[0]!;
            const f = rx.read(at + 12, u.len - 12);
            seen.push(u.len);
            if (f[23] === 17 && ((f[34]! << 8) | f[35]!) === 67) { resolve(f); return; }
          }
          if (net.stats.rxFrames > 20) { reject(new Error(`no DHCP answer among ${seen.length} frames`)); return; }
          setTimeout(poll, 10);
        };
        poll();
      });
      expect([...offer.subarray(0, 6)]).toEqual(MAC);
      expect(new DataView(offer.buffer, offer.byteOffset).getUint32(42 + 4)).toBe(0xcafe0001);
      expect(r.msis.length).toBeGreaterThan(0);
    } finally {
      await link.close();
    }
  });
});
