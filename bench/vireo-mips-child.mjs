/**
 * Runs the CPU microbenchmark image on Vireo's emulator API (dist/emulator/index.js) in its
 * own process, like `vireo run --firmware IMAGE --deterministic`, but with the machine's
 * retired-instruction counter read at the end. Serial output goes to stdout; one line
 * `VIREO-MIPS {"instructions":N,"runMs":M,"loopMs":L,"loopCpuMs":C,"stop":{...}}` goes to
 * stderr, where loopMs / loopCpuMs are the host wall / process CPU time between the
 * guest's "S" and "D" serial bytes.
 *
 * usage: node bench/vireo-mips-child.mjs IMAGE [--realtime]
 */
import { readFileSync } from 'node:fs';

const image = process.argv[2];
if (!image) {
  process.stderr.write('usage: vireo-mips-child.mjs IMAGE [--realtime]\n');
  process.exit(3);
}
const entry = new URL('../dist/emulator/index.js', import.meta.url);
let api;
try {
  api = await import(entry.href);
} catch (err) {
  process.stderr.write(`vireo-mips-child: cannot load ${entry.pathname} (run npm run build:node): ${err.message}\n`);
  process.exit(3);
}

let tStart = null;
let tDone = null;
let cpuStart = null;
let cpuDone = null;
const machine = api.createPcMachine({
  memoryBytes: 64 * 1024 * 1024,
  bios: new Uint8Array(readFileSync(image)),
  vgaBios: null,
  deterministic: !process.argv.includes('--realtime'),
  timing: api.createNodeTiming(),
  rtcStart: new Date(),
  serialOut: (bytes) => {
    const now = performance.now();
    for (const b of bytes) {
      if (b === 0x53 /* S */ && tStart === null) { tStart = now; cpuStart = process.cpuUsage(); }
      if (b === 0x44 /* D */ && tDone === null) { tDone = now; cpuDone = process.cpuUsage(cpuStart); }
    }
    process.stdout.write(bytes);
  },
});
const t0 = performance.now();
const stop = await machine.run();
const runMs = performance.now() - t0;
const loopMs = tStart !== null && tDone !== null ? tDone - tStart : null;
const loopCpuMs = cpuDone ? (cpuDone.user + cpuDone.system) / 1000 : null;
process.stderr.write(`VIREO-MIPS ${JSON.stringify({ instructions: machine.instructions, runMs, loopMs, loopCpuMs, stop })}\n`);
process.exitCode = stop.kind === 'debug-exit' ? stop.code : 1;
