/**
 * Memory of one emulator worker beyond its guest RAM, in its own process: samples
 * process.memoryUsage() (rss, external, arrayBuffers) and /proc/self/status, starts the
 * real emulator worker (dist/emulator/worker/machine-worker.js, through
 * bench/workermem-worker.mjs) with a 128 MiB machine and no drives, waits until SeaBIOS
 * shows "No bootable device" on the screen (screen-text requests), samples again, and
 * reads from /proc/self/smaps how much of the machine's SharedArrayBuffer is resident.
 *
 * With --touch the worker writes every page of that buffer first, so all of guest RAM is
 * resident (the worst case: a guest that has used all its memory).
 *
 * One line on stdout: WORKERMEM-RESULT {...} (bytes; see bench/README.md).
 * usage: node bench/workermem-child.mjs [--touch] [--memory-mib N] [--timeout-sec S]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({
  options: {
    touch: { type: 'boolean', default: false },
    'memory-mib': { type: 'string', default: '128' },
    'timeout-sec': { type: 'string', default: '60' },
  },
});
const MEMORY_BYTES = Number(values['memory-mib']) * 2 ** 20;
const TIMEOUT_MS = Number(values['timeout-sec']) * 1000;
const MARKER = /No bootable device/i;

function statusKiB(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) * 1024 : null;
}

function sample() {
  const u = process.memoryUsage();
  return { rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, rssAnon: statusKiB('RssAnon'), rssShmem: statusKiB('RssShmem') };
}

/**
 * Resident bytes of the anonymous read-write mapping that holds a buffer of `bytes`: the
 * smallest one at least that large and at most 16 MiB larger (the kernel merges the
 * buffer's mmap with adjacent anonymous mappings such as a thread stack, so the figure
 * may include a little memory that is not the buffer's), or null if none is found.
 */
function residentOfMapping(bytes) {
  const text = readFileSync('/proc/self/smaps', 'latin1');
  let best = null;
  for (const block of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const size = /^Size:\s+(\d+) kB/m.exec(block);
    const rss = /^Rss:\s+(\d+) kB/m.exec(block);
    if (!size || !rss) continue;
    const s = Number(size[1]) * 1024;
    if (/ rw-p /.test(block.split('\n')[0]) && s >= bytes && s <= bytes + (16 << 20) && (best === null || s < best.size)) best = { size: s, rss: Number(rss[1]) * 1024, head: block.split('\n')[0] };
  }
  return best;
}

global.gc?.();
const before = sample();
const t0 = performance.now();
const worker = new Worker(new URL('./workermem-worker.mjs', import.meta.url), { workerData: { touch: values.touch } });
const sabs = [];
let requestId = 0;
let lastText = '';
const errors = [];
const result = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve({ error: `no "No bootable device" within ${TIMEOUT_MS / 1000} s; screen: ${JSON.stringify(lastText.trim().slice(-200))}` }), TIMEOUT_MS);
  let poll;
  worker.on('error', (err) => { clearTimeout(timer); clearInterval(poll); resolve({ error: `worker error: ${err.message}` }); });
  worker.on('exit', (code) => { clearTimeout(timer); clearInterval(poll); resolve({ error: `worker exited (${code}) before the marker${errors.length ? `: ${errors.at(-1)}` : ''}` }); });
  worker.on('message', (msg) => {
    if (msg.type === 'bench-sab') sabs.push(msg.bytes);
    else if (msg.type === 'error') errors.push(msg.message);
    else if (msg.type === 'stopped') errors.push(`stopped: ${JSON.stringify(msg.reason)}`);
    else if (msg.type === 'screen-text') {
      lastText = msg.text;
      if (MARKER.test(msg.text)) { clearTimeout(timer); clearInterval(poll); resolve({ ms: performance.now() - t0 }); }
    }
  });
  worker.postMessage({ type: 'start', config: { memoryBytes: MEMORY_BYTES, cpus: 1, name: 'bench' } });
  poll = setInterval(() => worker.postMessage({ type: 'screen-text', requestId: ++requestId }), 200);
});
if (result.error) {
  process.stderr.write(`workermem-child: ${result.error}\n`);
  await worker.terminate();
  process.exit(1);
}
// Let the start-up garbage settle a moment (the worker keeps running the idle BIOS).
await new Promise((r) => setTimeout(r, 500));
global.gc?.();
const after = sample();
const sabBytes = sabs.reduce((a, b) => a + b, 0);
const mapping = sabs.length === 1 ? residentOfMapping(sabs[0]) : null;
worker.postMessage({ type: 'stop' });
await new Promise((r) => { const t = setTimeout(r, 3000); worker.once('exit', () => { clearTimeout(t); r(); }); });
await worker.terminate();
process.stdout.write(`WORKERMEM-RESULT ${JSON.stringify({
  touch: values.touch, memoryBytes: MEMORY_BYTES, sabBytes, sabCount: sabs.length, sabResident: mapping?.rss ?? null, sabMapping: mapping?.head ?? null,
  bootMs: result.ms, before, after,
})}\n`);
