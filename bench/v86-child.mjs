/**
 * Runs one v86 machine in its own Node process, so the harness can measure its CPU time
 * and peak RSS like any other child. Serial (COM1) output goes to stdout; at the end one
 * line `V86-STATS {"instructions":N,"runMs":M}` goes to stderr.
 *
 * usage: node bench/v86-child.mjs --bios FILE [--vga-bios FILE] [--cdrom ISO]
 *          [--memory-mib N] [--no-jit] [--stop-on STRING]... [--stop-grace-ms N] [--mips]
 *
 * --mips: for the CPU microbenchmark image (bench/cpu-mips.asm): stops on its "D" serial
 * byte and adds `loopMs` / `loopCpuMs`, the host wall / process CPU time between its "S"
 * and "D" bytes, to the stats.
 *
 * The process exits (status 0) `--stop-grace-ms` after the serial output contains one of
 * the `--stop-on` strings; v86 has no isa-debug-exit device, and its ACPI is off by
 * default, so a guest "power-off" is seen as the kernel's `reboot: Power down` line.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    bios: { type: 'string' },
    'vga-bios': { type: 'string' },
    cdrom: { type: 'string' },
    'memory-mib': { type: 'string', default: '256' },
    'no-jit': { type: 'boolean', default: false },
    'stop-on': { type: 'string', multiple: true, default: [] },
    'stop-grace-ms': { type: 'string', default: '0' },
    mips: { type: 'boolean', default: false },
  },
});

function fail(message) {
  process.stderr.write(`v86-child: ${message}\n`);
  process.exit(3);
}

if (!values.bios) fail('--bios is required');
let V86;
let wasmPath;
try {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('v86/package.json'));
  wasmPath = path.join(pkgDir, 'build', 'v86.wasm');
  ({ V86 } = await import('v86'));
} catch (err) {
  fail(`the npm package v86 is not installed (it is a devDependency; run npm ci): ${err.message}`);
}

const toBuffer = (file) => {
  const b = readFileSync(file);
  return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) };
};

const options = {
  wasm_path: wasmPath,
  memory_size: Number(values['memory-mib']) * 1024 * 1024,
  vga_memory_size: 8 * 1024 * 1024,
  bios: toBuffer(values.bios),
  autostart: true,
  disable_jit: values['no-jit'],
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
  screen: { container: null },
  log_level: 0,
};
if (values['vga-bios']) options.vga_bios = toBuffer(values['vga-bios']);
if (values.cdrom) options.cdrom = toBuffer(values.cdrom);

const stopOn = values.mips ? ['D'] : values['stop-on'];
let tLoopStart = null;
let tLoopEnd = null;
let cpuLoopStart = null;
let cpuLoop = null;
const grace = Number(values['stop-grace-ms']);
let tail = '';
let started = 0;
let stopping = false;
const emulator = new V86(options);

function finish(code) {
  const instructions = emulator.get_instruction_counter?.() ?? null;
  const runMs = started ? performance.now() - started : null;
  const loopMs = tLoopStart !== null && tLoopEnd !== null ? tLoopEnd - tLoopStart : null;
  const loopCpuMs = cpuLoop ? (cpuLoop.user + cpuLoop.system) / 1000 : null;
  process.stderr.write(`V86-STATS ${JSON.stringify({ instructions, runMs, loopMs, loopCpuMs })}\n`);
  try { emulator.destroy(); } catch { /* already gone */ }
  process.exit(code);
}

emulator.add_listener('emulator-started', () => { started = performance.now(); });
emulator.add_listener('serial0-output-byte', (byte) => {
  if (values.mips) {
    const now = performance.now();
    if (byte === 0x53 /* S */ && tLoopStart === null) { tLoopStart = now; cpuLoopStart = process.cpuUsage(); }
    if (byte === 0x44 /* D */ && tLoopEnd === null) { tLoopEnd = now; cpuLoop = process.cpuUsage(cpuLoopStart); }
  }
  process.stdout.write(Uint8Array.of(byte));
  if (stopping || stopOn.length === 0) return;
  tail = (tail + String.fromCharCode(byte)).slice(-256);
  if (stopOn.some((s) => tail.includes(s))) {
    stopping = true;
    if (grace > 0) setTimeout(() => finish(0), grace);
    else finish(0);
  }
});
process.on('SIGTERM', () => finish(143));
