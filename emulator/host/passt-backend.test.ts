import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PasstBackend, PasstError, passtArgs } from './passt-backend.js';

function passtInstalled(): boolean {
  try { execFileSync('passt', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const HAVE_PASST = passtInstalled();
if (!HAVE_PASST) console.warn('passt-backend.test: passt is not installed (Debian package "passt"): the loopback tests are skipped');

const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

function ipChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A DHCPDISCOVER from GUEST_MAC, broadcast (RFC 2131 §4.4.1). */
function dhcpDiscover(xid: number): Uint8Array {
  const bootp = new Uint8Array(240 + 4);
  const bv = new DataView(bootp.buffer);
  bootp[0] = 1; bootp[1] = 1; bootp[2] = 6;
  bv.setUint32(4, xid);
  bv.setUint16(10, 0x8000); // broadcast flag
  bootp.set(GUEST_MAC, 28);
  bv.setUint32(236, 0x63825363); // magic cookie
  bootp.set([53, 1, 1, 255], 240); // DHCP message type DISCOVER, end
  const udp = new Uint8Array(8 + bootp.length);
  const uv = new DataView(udp.buffer);
  uv.setUint16(0, 68); uv.setUint16(2, 67); uv.setUint16(4, udp.length); // checksum 0: none
  udp.set(bootp, 8);
  const ip = new Uint8Array(20 + udp.length);
  const iv = new DataView(ip.buffer);
  ip[0] = 0x45; iv.setUint16(2, ip.length); ip[8] = 64; ip[9] = 17;
  ip.set([255, 255, 255, 255], 16);
  iv.setUint16(10, ipChecksum(ip.subarray(0, 20)));
  ip.set(udp, 20);
  const eth = new Uint8Array(14 + ip.length);
  eth.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  eth.set(GUEST_MAC, 6);
  eth[12] = 0x08; eth[13] = 0x00;
  eth.set(ip, 14);
  return eth;
}

describe('PasstBackend', () => {
  it('builds passt arguments with port forwards', () => {
    expect(passtArgs('/tmp/x/passt.sock', { portForwards: [
      { protocol: 'tcp', hostPort: 2222, guestPort: 22, hostAddress: '127.0.0.1' },
      { protocol: 'udp', hostPort: 5353 },
    ] })).toEqual(['--foreground', '--stderr', '--socket', '/tmp/x/passt.sock',
      '--tcp-ports', '127.0.0.1/2222:22', '--udp-ports', '5353']);
    expect(() => passtArgs('/s', { portForwards: [{ protocol: 'tcp', hostPort: 70000 }] })).toThrow(PasstError);
    expect(() => passtArgs('/s', { portForwards: [{ protocol: 'tcp', hostPort: 80, hostAddress: '1.2.3.4; rm' }] })).toThrow(/not an IP/);
  });

  it('names the Debian package when passt is missing', async () => {
    const err = await PasstBackend.start({ passtPath: '/nonexistent/vireo-test/passt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PasstError);
    expect((err as PasstError).kind).toBe('not-installed');
    expect((err as PasstError).message).toMatch(/Debian package "passt"/);
  });

  it.skipIf(!HAVE_PASST)('exchanges frames with passt: a DHCPDISCOVER gets an answer, then close cleans up', async () => {
    const link = await PasstBackend.start({ portForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0 + 39_000 + (process.pid % 1000), guestPort: 22 }] });
    try {
      const reply = new Promise<Uint8Array>((resolve) => {
        link.onReceive((f) => {
          // IPv4 UDP from port 67 to 68
          if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 17 && ((f[34]! << 8) | f[35]!) === 67) resolve(f);
        });
      });
      link.send(dhcpDiscover(0x1234_5678));
      const f = await reply;
      expect([...f.subarray(0, 6)]).toEqual(GUEST_MAC);
      const bootp = f.subarray(42);
      expect(bootp[0]).toBe(2); // BOOTREPLY
      expect(new DataView(bootp.buffer, bootp.byteOffset).getUint32(4)).toBe(0x1234_5678);
      const yiaddr = [...bootp.subarray(16, 20)];
      expect(yiaddr.some((b) => b !== 0)).toBe(true);
      expect(link.stats.framesReceived).toBeGreaterThan(0);
    } finally {
      const path = link.socketPath;
      await link.close();
      expect(existsSync(path)).toBe(false);
    }
  });
});
