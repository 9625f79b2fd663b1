/**
 * RFB throughput of the in-app display path, in its own process: a StdVga in VBE
 * 1024x768x32 (DISPI registers written as a guest driver would), a moving gradient written
 * into the linear framebuffer before every frame (every pixel changes, so neither the
 * renderer's dirty tiles nor ZRLE's solid/palette tiles can skip work), VgaRenderer.render(),
 * RfbServer.onFrame(), and one RfbServer connection driven by a minimal client here that
 * requests incremental updates and decodes them (Raw or ZRLE into its own framebuffer,
 * ZRLE through one continuous node:zlib inflate stream, as a VNC viewer does).
 *
 * Per update: fill (the "guest" writing the LFB, not counted), render, server (onFrame:
 * encoding + send), decode. One line on stdout:
 *   RFB-RESULT {"encoding","updates","seconds","updatesPerS","fbMBps","wireMBps",...}
 *
 * usage: node bench/rfb-child.mjs --encoding raw|zrle [--seconds S] [--width W --height H]
 */
import { constants, createInflate } from 'node:zlib';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    encoding: { type: 'string', default: 'raw' },
    seconds: { type: 'string', default: '2' },
    width: { type: 'string', default: '1024' },
    height: { type: 'string', default: '768' },
  },
});
const ENCODING = values.encoding;
if (ENCODING !== 'raw' && ENCODING !== 'zrle') throw new Error(`--encoding: raw or zrle, got "${ENCODING}"`);
const SECONDS = Number(values.seconds);
const W = Number(values.width);
const H = Number(values.height);
const ENC_RAW = 0;
const ENC_ZRLE = 16;
/** Updates before the measurement starts (JIT warm-up, zlib window filled). */
const WARMUP = 3;
const MIN_UPDATES = 5;

async function load(rel) {
  const url = new URL(`../dist/${rel}`, import.meta.url);
  try {
    return await import(url.href);
  } catch (err) {
    process.stderr.write(`rfb-child: cannot load ${url.pathname} (run npm run build:node): ${err.message}\n`);
    process.exit(3);
  }
}
const { GuestMemory } = await load('emulator/memory/guest-memory.js');
const { VirtualClock } = await load('emulator/time/clock.js');
const { StdVga } = await load('emulator/devices/vga/vga.js');
const { VgaRenderer } = await load('emulator/display/vga-renderer.js');
const { RfbServer } = await load('emulator/display/rfb/rfb-server.js');
const { zlibDeflateFactory } = await load('emulator/host/rfb-zlib.js');

// --- the display device in VBE mode ---------------------------------------------------
const VRAM = 16 << 20;
const memory = new GuestMemory(64 * 1024, VRAM + 64 * 1024);
const vga = new StdVga({ memory, clock: new VirtualClock(), vramBytes: VRAM });
const dispi = (index, value) => { vga.dispiPorts.write(0, 2, index); vga.dispiPorts.write(1, 2, value); };
dispi(4, 0); // disable
dispi(3, 32); // BPP
dispi(1, W); // XRES
dispi(2, H); // YRES
dispi(5, 0); // BANK
dispi(4, 0x01 | 0x40); // ENABLED | LFB_ENABLED
// Display on, as the VGA BIOS leaves it: colour I/O addresses (misc output 0x3C2), reset
// the attribute flip-flop (read 0x3DA), palette address source bit set (0x3C0 <- 0x20).
const port = (p) => p - 0x3b0;
vga.ioPorts.write(port(0x3c2), 1, 0xc3);
vga.ioPorts.read(port(0x3da), 1);
vga.ioPorts.write(port(0x3c0), 1, 0x20);
if (vga.vbe.xres !== W || vga.vbe.yres !== H || vga.vbe.bpp !== 32) throw new Error(`VBE mode not set: ${vga.vbe.xres}x${vga.vbe.yres}x${vga.vbe.bpp}`);
const lfb = new Uint32Array(vga.vramU32.buffer, vga.vramU32.byteOffset, W * H);

/** A moving gradient: every pixel changes every frame (BGRX in VRAM). */
function fill(t) {
  for (let y = 0; y < H; y++) {
    const g = ((y + 2 * t) & 255) << 8;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const b = (x + t) & 255;
      const r = ((x + y + 3 * t) >> 1) & 255;
      lfb[row + x] = b | g | (r << 16);
    }
  }
}

const renderer = new VgaRenderer(vga);
if (renderer.render().mode.kind !== 'vbe') throw new Error('the renderer does not see the VBE mode');
const logs = [];
const server = new RfbServer({ name: 'bench', deflate: zlibDeflateFactory(), log: (m) => logs.push(m) });
fill(0);
let frame = renderer.render();
server.onFrame(frame); // so ServerInit announces W x H

// --- the client --------------------------------------------------------------------------
let chunks = [];
let closed = null;
const conn = server.connect({ send: (b) => chunks.push(b), close: (reason) => { closed ??= reason; } });
let buf = new Uint8Array(0);
let pos = 0;
let wireBytes = 0;
function pull() {
  if (chunks.length === 0) return;
  const rest = buf.subarray(pos);
  const n = rest.length + chunks.reduce((s, c) => s + c.length, 0);
  const next = new Uint8Array(n);
  next.set(rest, 0);
  let o = rest.length;
  for (const c of chunks) { next.set(c, o); o += c.length; wireBytes += c.length; }
  chunks = [];
  buf = next;
  pos = 0;
}
function take(n) {
  if (buf.length - pos < n) pull();
  if (buf.length - pos < n) throw new Error(`client: wanted ${n} bytes, have ${buf.length - pos}${closed ? ` (closed: ${closed})` : ''}`);
  const out = buf.subarray(pos, pos + n);
  pos += n;
  return out;
}
const u8 = () => take(1)[0];
const u16 = () => { const b = take(2); return (b[0] << 8) | b[1]; };
const u32 = () => { const b = take(4); return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0; };
const send = (bytes) => conn.receive(Uint8Array.from(bytes));

// Handshake: RFB 3.8, security None, shared ClientInit; keep the server's native format
// (32 bpp little-endian, red at bit 0: bytes R, G, B, pad).
if (new TextDecoder().decode(take(12)) !== 'RFB 003.008\n') throw new Error('client: unexpected ProtocolVersion');
send(new TextEncoder().encode('RFB 003.008\n'));
const types = [...take(u8())];
if (!types.includes(1)) throw new Error(`client: no security None offered (${types})`);
send([1]);
if (u32() !== 0) throw new Error('client: SecurityResult failed');
send([1]);
const fbW = u16();
const fbH = u16();
const pf = take(16);
take(u32()); // name
if (fbW !== W || fbH !== H || pf[0] !== 32 || pf[2] !== 0 || pf[10] !== 0 || pf[11] !== 8 || pf[12] !== 16) {
  throw new Error(`client: unexpected ServerInit ${fbW}x${fbH} pf ${[...pf]}`);
}
const enc = ENCODING === 'raw' ? ENC_RAW : ENC_ZRLE;
send([2, 0, 0, 1, (enc >>> 24) & 255, (enc >>> 16) & 255, (enc >>> 8) & 255, enc & 255]);
const requestUpdate = (incremental) => send([3, incremental ? 1 : 0, 0, 0, 0, 0, W >> 8, W & 255, H >> 8, H & 255]);

const fb8 = new Uint8Array(W * H * 4);
const fb32 = new Uint32Array(fb8.buffer);

// One zlib stream per connection (RFC 6143 7.7.6), fed and sync-flushed per rectangle.
const inflater = createInflate();
let inflated = [];
inflater.on('data', (d) => inflated.push(d));
let inflateError = null;
inflater.on('error', (err) => { inflateError = err; });
function inflate(data) {
  return new Promise((resolve, reject) => {
    if (inflateError) { reject(inflateError); return; }
    inflater.write(data);
    inflater.flush(constants.Z_SYNC_FLUSH, () => {
      const out = inflated.length === 1 ? inflated[0] : Buffer.concat(inflated);
      inflated = [];
      if (inflateError) reject(inflateError);
      else resolve(out);
    });
  });
}

function decodeRaw(x0, y0, w, h) {
  const rowBytes = w * 4;
  for (let y = 0; y < h; y++) fb8.set(take(rowBytes), ((y0 + y) * W + x0) * 4);
}

/** ZRLE with 3-byte CPIXELs (32 bpp, depth 24): R, G, B. */
function decodeZrle(d, x0, y0, w, h) {
  let o = 0;
  const cp = () => { const v = d[o] | (d[o + 1] << 8) | (d[o + 2] << 16); o += 3; return v; };
  const pal = new Uint32Array(128);
  for (let ty = y0; ty < y0 + h; ty += 64) {
    const th = Math.min(64, y0 + h - ty);
    for (let tx = x0; tx < x0 + w; tx += 64) {
      const tw = Math.min(64, x0 + w - tx);
      const sub = d[o++];
      if (sub === 0) {
        for (let y = 0; y < th; y++) { const row = (ty + y) * W + tx; for (let x = 0; x < tw; x++) fb32[row + x] = cp(); }
      } else if (sub === 1) {
        const v = cp();
        for (let y = 0; y < th; y++) fb32.fill(v, (ty + y) * W + tx, (ty + y) * W + tx + tw);
      } else if (sub <= 16) {
        for (let k = 0; k < sub; k++) pal[k] = cp();
        const bits = sub === 2 ? 1 : sub <= 4 ? 2 : 4;
        const mask = (1 << bits) - 1;
        for (let y = 0; y < th; y++) {
          const row = (ty + y) * W + tx;
          let bit = 0;
          for (let x = 0; x < tw; x++) { fb32[row + x] = pal[(d[o + (bit >> 3)] >> (8 - bits - (bit & 7))) & mask]; bit += bits; }
          o += (tw * bits + 7) >> 3;
        }
      } else if (sub === 128 || sub >= 130) {
        if (sub >= 130) for (let k = 0; k < sub - 128; k++) pal[k] = cp();
        let i = 0;
        const n = tw * th;
        while (i < n) {
          let v; let run = 1;
          if (sub === 128) v = cp();
          else {
            const idx = d[o++];
            v = pal[idx & 0x7f];
            if ((idx & 0x80) === 0) { fb32[(ty + ((i / tw) | 0)) * W + tx + (i % tw)] = v; i++; continue; }
          }
          let b;
          do { b = d[o++]; run += b; } while (b === 255);
          for (let k = 0; k < run; k++, i++) fb32[(ty + ((i / tw) | 0)) * W + tx + (i % tw)] = v;
        }
      } else {
        throw new Error(`client: ZRLE subencoding ${sub}`);
      }
    }
  }
  if (o !== d.length) throw new Error(`client: ZRLE rectangle left ${d.length - o} of ${d.length} bytes`);
}

/** Reads and applies one FramebufferUpdate; returns its pixel-rectangle area. */
async function readUpdate() {
  pull();
  if (buf.length - pos === 0) throw new Error(`client: no update arrived${closed ? ` (closed: ${closed})` : ''}${logs.length ? `; log: ${logs.at(-1)}` : ''}`);
  if (u8() !== 0) throw new Error('client: expected FramebufferUpdate');
  u8();
  const n = u16();
  let area = 0;
  for (let i = 0; i < n; i++) {
    const x = u16(); const y = u16(); const w = u16(); const h = u16();
    const e = u32() | 0;
    if (e === ENC_RAW) decodeRaw(x, y, w, h);
    else if (e === ENC_ZRLE) decodeZrle(await inflate(take(u32())), x, y, w, h);
    else throw new Error(`client: unexpected encoding ${e}`);
    area += w * h;
  }
  return area;
}

/** First pixel where the client's framebuffer differs from the rendered frame (RGB). */
function mismatch(pixels) {
  for (let i = 0; i < W * H; i++) {
    const p = i * 4;
    if (fb8[p] !== pixels[p] || fb8[p + 1] !== pixels[p + 1] || fb8[p + 2] !== pixels[p + 2]) {
      return `(${i % W},${(i / W) | 0}): client ${fb8[p]},${fb8[p + 1]},${fb8[p + 2]} vs ${pixels[p]},${pixels[p + 1]},${pixels[p + 2]}`;
    }
  }
  return null;
}

// First, a full update of the initial frame.
requestUpdate(false);
await readUpdate();
let bad = mismatch(frame.pixels);
if (bad) throw new Error(`client: initial frame differs at ${bad}`);

const cpuMs = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const acc = { render: 0, server: 0, decode: 0, cpu: 0, fill: 0 };
let updates = 0;
let measuredWire = 0;
let area = 0;
let t = 1;
const deadline = { at: Infinity };
for (let i = 0; ; i++) {
  const measuring = i >= WARMUP;
  if (i === WARMUP) deadline.at = performance.now() + SECONDS * 1000;
  if (measuring && updates >= MIN_UPDATES && performance.now() >= deadline.at) break;
  requestUpdate(true); // queued until something changes
  const f0 = performance.now();
  fill(t++);
  const c0 = cpuMs();
  const t0 = performance.now();
  frame = renderer.render();
  const t1 = performance.now();
  const wire0 = wireBytes + chunks.reduce((s, c) => s + c.length, 0);
  server.onFrame(frame);
  const t2 = performance.now();
  const got = await readUpdate();
  const t3 = performance.now();
  const c1 = cpuMs();
  if (frame.dirty.length === 0) throw new Error('renderer reported no change although every pixel changed');
  if (measuring) {
    updates++;
    area += got;
    measuredWire += wireBytes - wire0;
    acc.fill += t0 - f0; acc.render += t1 - t0; acc.server += t2 - t1; acc.decode += t3 - t2; acc.cpu += c1 - c0;
  }
}
bad = mismatch(frame.pixels);
if (bad) throw new Error(`client: last frame differs at ${bad}`);
if (closed) throw new Error(`connection closed: ${closed}`);
inflater.close();

const busyMs = acc.render + acc.server + acc.decode;
const fbBytes = updates * W * H * 4;
process.stdout.write(`RFB-RESULT ${JSON.stringify({
  encoding: ENCODING, width: W, height: H, updates, seconds: busyMs / 1000,
  updatesPerS: updates / (busyMs / 1000),
  fbMBps: fbBytes / 1e6 / (busyMs / 1000),
  wireMBps: measuredWire / 1e6 / (busyMs / 1000),
  wireBytesPerUpdate: measuredWire / updates,
  compression: fbBytes / measuredWire,
  fullScreen: area === updates * W * H,
  renderMs: acc.render / updates, serverMs: acc.server / updates, decodeMs: acc.decode / updates,
  cpuMsPerUpdate: acc.cpu / updates, fillMs: acc.fill / updates,
})}\n`);
