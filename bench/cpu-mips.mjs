/**
 * CPU microbenchmark: the flat BIOS image of bench/cpu-mips.asm (assembled with nasm at
 * bench time) on Vireo's interpreter (emulator API in dist/, deterministic time, like
 * `vireo run --firmware IMAGE --deterministic`), QEMU TCG and v86 with and without its JIT.
 * MIPS = loop instructions (ITER x 20, known exactly) / host time between the guest's "S"
 * and "D" serial bytes, so start-up (Node, wasm compile, QEMU init) is not counted.
 *
 * Standalone: node bench/cpu-mips.mjs [--runs N] [--only vireo,qemu,v86-jit,v86-nojit]
 *               [--mips-minstr M] [--timeout-sec S] [--no-json]
 * (bench/run.mjs runs it after the Linux benchmark.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BENCH_DIR, EMULATORS, LABELS, REPO_DIR, RESULTS_FILE, appendResult, ratioRows, commandWorks, environmentInfo, printTable, procCpuSeconds,
  isVireo, qemuMissing, parseOnly, runMeasured, v86Missing, vireoEnv, warnIfBusy,
} from './lib.mjs';

export const MIPS_EMULATORS = EMULATORS;
/** Instructions per loop iteration in cpu-mips.asm. */
export const LOOP_INSNS = 20;
/** The image is padded in front to this size: the last 64 KiB sit at 0xF0000 on every PC. */
const IMAGE_BYTES = 128 * 1024;

/** Assembles the microbenchmark for `iter` iterations; returns the padded image's path. */
export function buildMipsImage(iter) {
  const src = path.join(BENCH_DIR, 'cpu-mips.asm');
  const base = process.env['VIREO_CACHE'] ?? path.join(os.homedir(), '.cache', 'vireo');
  const dir = path.join(base, 'bench');
  mkdirSync(dir, { recursive: true });
  const tag = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const out = path.join(dir, `cpu-mips-${tag}-${iter}.bin`);
  if (existsSync(out)) return out;
  const flat = `${out}.${process.pid}.flat`;
  execFileSync('nasm', ['-f', 'bin', `-DITER=${iter}`, '-o', flat, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  const code = readFileSync(flat);
  if (code.length !== 0x10000) throw new Error(`cpu-mips.asm assembled to ${code.length} bytes, expected 65536`);
  const image = Buffer.alloc(IMAGE_BYTES, 0xff);
  code.copy(image, IMAGE_BYTES - code.length);
  writeFileSync(`${out}.tmp`, image);
  renameSync(`${out}.tmp`, out);
  return out;
}

function lastJsonLine(stderr, prefix) {
  const line = stderr.split('\n').reverse().find((l) => l.startsWith(prefix + ' '));
  if (!line) return null;
  try { return JSON.parse(line.slice(prefix.length + 1)); } catch { return null; }
}

function lastErrorLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** One run of `emu` on `image`; returns the metrics record. */
async function runOnce(emu, image, loopInstructions, timeoutMs) {
  let cmd; let args; let env = {};
  if (isVireo(emu)) {
    cmd = process.execPath; args = [path.join(BENCH_DIR, 'vireo-mips-child.mjs'), image]; env = vireoEnv(emu);
  } else if (emu === 'qemu') {
    cmd = 'qemu-system-i386';
    args = ['-accel', 'tcg', '-bios', image, '-m', '64', '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
      '-net', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
  } else {
    cmd = process.execPath;
    args = [path.join(BENCH_DIR, 'v86-child.mjs'), '--bios', image, '--memory-mib', '64', '--mips', ...(emu === 'v86-nojit' ? ['--no-jit'] : [])];
  }
  // For QEMU the harness times the loop itself: serial bytes as they arrive, CPU from /proc.
  let sAt = null; let dAt = null; let sCpu = null; let dCpu = null;
  const r = await runMeasured({
    cmd, args, env, timeoutMs,
    onStdout: (text, now, { pid }) => {
      if (sAt === null && text.includes('S')) { sAt = now; const p = pid(); sCpu = p ? procCpuSeconds(p) : null; }
      if (dAt === null && text.includes('D')) { dAt = now; const p = pid(); dCpu = p ? procCpuSeconds(p) : null; }
    },
  });
  const rec = { status: 'ok', procWallS: (r.wallMs ?? NaN) / 1000, procCpuS: r.cpuS, rssMiB: r.rssKiB != null ? r.rssKiB / 1024 : null };
  if (r.spawnError) return { status: 'error', message: r.spawnError };
  if (r.timedOut) return { ...rec, status: 'timeout', message: `no result within ${timeoutMs / 1000} s (killed)` };
  let loopMs = null; let loopCpuMs = null; let counted = null;
  if (emu === 'qemu') {
    if (r.exitCode !== 1) return { ...rec, status: 'error', message: `qemu exited with ${r.exitCode ?? r.signal} (expected isa-debug-exit status 1): ${lastErrorLine(r.stderr)}` };
    loopMs = sAt !== null && dAt !== null ? dAt - sAt : null;
    loopCpuMs = sCpu !== null && dCpu !== null ? (dCpu - sCpu) * 1000 : null;
  } else {
    const st = lastJsonLine(r.stderr, isVireo(emu) ? 'VIREO-MIPS' : 'V86-STATS');
    if (!st || st.loopMs == null) return { ...rec, status: 'error', message: `no result (exit ${r.exitCode ?? r.signal}): ${lastErrorLine(r.stderr)}` };
    if (isVireo(emu) && st.stop?.kind !== 'debug-exit') return { ...rec, status: 'error', message: `machine stopped: ${JSON.stringify(st.stop)}` };
    loopMs = st.loopMs; loopCpuMs = st.loopCpuMs; counted = st.instructions;
  }
  return {
    ...rec,
    loopWallS: loopMs != null ? loopMs / 1000 : null,
    loopCpuS: loopCpuMs != null ? loopCpuMs / 1000 : null,
    mipsWall: loopMs ? loopInstructions / loopMs / 1000 : null,
    // QEMU's /proc times tick at 10 ms: too coarse for short loops, so only above 0.2 s.
    mipsCpu: loopCpuMs && loopCpuMs >= (emu === 'qemu' ? 200 : 1) ? loopInstructions / loopCpuMs / 1000 : null,
    countedInstructions: counted,
  };
}

/** Why `emu` cannot run the microbenchmark here, or undefined. */
function missingFor(emu) {
  if (isVireo(emu)) {
    return existsSync(path.join(REPO_DIR, 'dist', 'emulator', 'index.js')) ? undefined : 'dist/emulator/index.js is missing (run npm run build:node)';
  }
  if (emu === 'qemu') return qemuMissing();
  return v86Missing();
}

/** Runs the microbenchmark; prints its table and appends results. */
export async function runMipsBench({ runs, only, timeoutSec, minstr, json, env }) {
  const iter = Math.max(1, Math.round((minstr * 1e6) / LOOP_INSNS));
  const loopInstructions = iter * LOOP_INSNS;
  const title = `CPU microbenchmark (bench/cpu-mips.asm, ${(loopInstructions / 1e6).toFixed(0)} M loop instructions, flat 32-bit protected mode), ${runs} run(s) each`;
  if (!commandWorks('nasm', ['-v'])) {
    console.log(`\n${title}\nnot available: nasm is not installed (apt-get install nasm); the microbenchmark image is assembled at bench time`);
    return;
  }
  const image = buildMipsImage(iter);
  const emus = only.filter((e) => MIPS_EMULATORS.includes(e));
  const missing = new Map(emus.map((e) => [e, missingFor(e)]));
  const results = new Map(emus.map((e) => [e, []]));
  const failures = new Map(emus.map((e) => [e, []]));
  for (let run = 1; run <= runs; run++) {
    for (const emu of emus) {
      if (missing.get(emu)) continue;
      process.stderr.write(`mips: ${emu} run ${run}/${runs}... `);
      const rec = await runOnce(emu, image, loopInstructions, timeoutSec * 1000);
      process.stderr.write(rec.status === 'ok' ? `${rec.mipsWall?.toFixed(1)} MIPS\n` : `${rec.status}: ${rec.message}\n`);
      if (rec.status === 'ok') results.get(emu).push(rec);
      else failures.get(emu).push(`run ${run}: ${rec.status}: ${rec.message}`);
      if (json) appendResult(json, { time: new Date().toISOString(), suite: 'mips', emulator: emu, run, config: { iter, loopInstructions, image: path.basename(image) }, ...rec, loadavg: os.loadavg(), ...env });
    }
  }
  printTable({
    title,
    metrics: [
      { key: 'loopWallS', title: 'loop s' },
      { key: 'mipsWall', title: 'MIPS' },
      { key: 'loopCpuS', title: 'loop CPU s' },
      { key: 'mipsCpu', title: 'MIPS/CPU' },
      { key: 'procWallS', title: 'process s' },
      { key: 'procCpuS', title: 'process CPU s' },
      { key: 'rssMiB', title: 'peak RSS MiB' },
      { key: 'countedInstructions', title: 'counted instr', noRatio: true },
    ],
    rows: emus.map((e) => {
      const note = missing.get(e) ? `not available: ${missing.get(e)}`
        : results.get(e).length === 0 ? `failed: ${failures.get(e)[0] ?? 'no runs'}` : undefined;
      return { key: e, label: LABELS[e], runs: results.get(e), note, failures: note ? undefined : failures.get(e)[0] };
    }),
    ratios: ratioRows(emus),
  });
  console.log(`expected instructions: ${loopInstructions} in the loop (+ < 100 setup/exit); "counted instr" is the emulator's own retired-instruction counter for the whole run`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      'timeout-sec': { type: 'string', default: '300' },
      'mips-minstr': { type: 'string', default: '60' },
      'no-json': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node bench/cpu-mips.mjs [--runs N] [--only vireo,qemu,v86-jit,v86-nojit] [--mips-minstr M] [--timeout-sec S] [--no-json]');
    return;
  }
  const runs = Number(values.runs);
  const minstr = Number(values['mips-minstr']);
  const timeoutSec = Number(values['timeout-sec']);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a positive integer');
  if (!(minstr > 0)) throw new Error('--mips-minstr: expected a positive number (millions of loop instructions)');
  if (!(timeoutSec > 0)) throw new Error('--timeout-sec: expected a positive number');
  const only = parseOnly(values.only, MIPS_EMULATORS);
  const env = environmentInfo();
  warnIfBusy();
  await runMipsBench({ runs, only, timeoutSec, minstr, json: values['no-json'] ? null : RESULTS_FILE, env });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => { console.error(`bench: ${err.message}`); process.exit(1); });
}
