/**
 * Interop with a VNC client nobody here wrote: Debian's vncsnapshot (TightVNC 1.2.8 /
 * RealVNC 3.3.7 based: RFB 3.3, VNC Authentication, Raw) captures the screen served on
 * 127.0.0.1 as JPEG; djpeg (libjpeg-turbo-progs) turns it into PPM. Skipped when either
 * tool is missing (apt-get install vncsnapshot libjpeg-turbo-progs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { desEncryptBlock } from '../display/rfb/des.js';
import { RfbServer } from '../display/rfb/rfb-server.js';
import { listenRfbTcp } from './rfb-tcp.js';

const haveTools = ['vncsnapshot', 'djpeg'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const dir = mkdtempSync(join(tmpdir(), 'vireo-rfb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The VNC password file format: DES with the fixed d3des key (bit-reversed for FIPS DES). */
function vncPasswdFile(password: string): Uint8Array {
  const rev = (b: number): number => { let r = 0; for (let i = 0; i < 8; i++) r |= ((b >> i) & 1) << (7 - i); return r; };
  const key = Uint8Array.from([23, 82, 107, 6, 35, 78, 88, 7].map(rev));
  const pw = new Uint8Array(8);
  pw.set(new TextEncoder().encode(password).subarray(0, 8));
  return desEncryptBlock(key, pw);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    p.on('close', (code) => resolve({ code, output }));
  });
}

/** 8 x 4 blocks of 32 px, each a distinct colour. */
const W = 256;
const H = 128;
function colourOf(bx: number, by: number): [number, number, number] {
  return [bx * 36, by * 80, ((bx + by) % 2) * 200 + 30];
}
function testScreen(): Uint8ClampedArray {
  const px = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) px.set([...colourOf(x >> 5, y >> 5), 255], (y * W + x) * 4);
  }
  return px;
}

describe.skipIf(!haveTools)('RFB over TCP with vncsnapshot', () => {
  it('authenticates with the password and captures the served framebuffer', async () => {
    const logs: string[] = [];
    const server = new RfbServer({ name: 'interop', password: 'vireo123', log: (m) => logs.push(m) });
    server.onFrame({ width: W, height: H, pixels: testScreen(), dirty: [] });
    const listener = await listenRfbTcp(server, { port: 0 });
    try {
      const good = join(dir, 'good.passwd');
      writeFileSync(good, vncPasswdFile('vireo123'));
      const jpg = join(dir, 'shot.jpg');
      const r = await run('vncsnapshot', ['-passwd', good, '-quality', '100', '-verbose', `127.0.0.1::${listener.port}`, jpg]);
      expect(r.output).toMatch(/VNC authentication succeeded/);
      expect(r.code).toBe(0);
      const ppm = spawnSync('djpeg', ['-pnm', jpg]).stdout;
      const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 32).toString('latin1'))!;
      expect([Number(header[1]), Number(header[2])]).toEqual([W, H]);
      const data = ppm.subarray(header[0].length);
      for (let by = 0; by < H / 32; by++) {
        for (let bx = 0; bx < W / 32; bx++) {
          const o = ((by * 32 + 16) * W + bx * 32 + 16) * 3; // block centres: JPEG is lossy at edges
          const want = colourOf(bx, by);
          for (let c = 0; c < 3; c++) expect(Math.abs(data[o + c]! - want[c]!)).toBeLessThanOrEqual(6);
        }
      }

      const bad = join(dir, 'bad.passwd');
      writeFileSync(bad, vncPasswdFile('wrong'));
      const r2 = await run('vncsnapshot', ['-passwd', bad, `127.0.0.1::${listener.port}`, join(dir, 'bad.jpg')]);
      expect(r2.code).not.toBe(0);
      expect(logs.some((l) => l.endsWith('closed: VNC authentication failed: wrong password'))).toBe(true);
    } finally {
      await listener.close();
    }
  });
});
