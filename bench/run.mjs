/**
 * `npm run bench`: Vireo side by side with QEMU TCG and v86 (with and without its JIT).
 *
 * 1. Linux: the same ISO (bench/guest.mjs: Debian's i386 kernel + busybox initramfs,
 *    isolinux, console=ttyS0) boots from CD-ROM on each emulator with 256 MiB; the guest
 *    prints a boot marker, runs a CPU workload it times itself, prints a done marker and
 *    powers off. Runs are interleaved (run 1 of every emulator, then run 2, ...).
 * 2. CPU microbenchmark (bench/cpu-mips.mjs).
 * 3. Vireo-only app metrics (bench/app-metrics.mjs): RFB updates/s (rfb), browser-shell
 *    cold start (coldstart), emulator worker memory beyond guest RAM (workermem).
 *
 * usage: node bench/run.mjs [--runs N] [--only vireo,vireo-interp,qemu,v86,v86-jit,v86-nojit]
 *          [--suite linux,mips,rfb,coldstart,workermem] [--timeout-sec S] [--work-mib N] [--mips-minstr M] [--rfb-seconds S] [--no-json]
 * Results: a table on stdout, one JSON line per run in bench/results/results.jsonl.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { BOOT_MARKER, DONE_MARKER, WORK_RE, buildBenchIso, guestToolsMissing } from './guest.mjs';
import { MIPS_EMULATORS, runMipsBench } from './cpu-mips.mjs';
import { runColdStartBench, runRfbBench, runWorkerMemBench } from './app-metrics.mjs';
import {
  BENCH_DIR, EMULATORS, LABELS, REPO_DIR, RESULTS_FILE, appendResult, environmentInfo, parseOnly, printTable,
  isVireo, qemuMissing, ratioRows, runMeasured, v86Missing, vireoEnv, warnIfBusy,
} from './lib.mjs';

const MEMORY_MIB = 256;
/** Every suite, in run order (all by default). */
const SUITES = ['linux', 'mips', 'rfb', 'coldstart', 'workermem'];
/**
 * Extra kernel arguments: skip the crypto self-tests at boot (about 60 % of this kernel's
 * boot in QEMU TCG) and the ISA PnP scan, CPU work that says little about an emulator and
 * made interpreters spend minutes before userland.
 */
const KERNEL_ARGS = 'cryptomgr.notests noisapnp';
/** Debian's SeaBIOS: QEMU's 128 KiB build for v86 (v86 copies the image below 1 MiB, so the 256 KiB one would cover the VGA BIOS). */
const SEABIOS = '/usr/share/seabios/bios.bin';
const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';
/** What the kernel prints when `poweroff -f` has nothing to switch off (v86 runs without ACPI). */
const V86_POWER_OFF = ['reboot: Power down', 'reboot: System halted'];

const USAGE = `usage: node bench/run.mjs [options]   (npm run bench -- [options])
  --runs N            runs per emulator, interleaved (default 3)
  --only LIST         emulators: vireo,vireo-interp,qemu,v86-jit,v86-nojit (v86 = both;
                      vireo-interp = Vireo with VIREO_JIT=0); default all
  --suite LIST        linux,mips,rfb,coldstart,workermem (default all)
  --timeout-sec S     per-run timeout; the child's process group is killed (default 900)
  --work-mib N        MiB of zeros the guest hashes with sha256sum (default 4)
  --mips-minstr M     millions of loop instructions of the CPU microbenchmark (default 60)
  --rfb-seconds S     measured seconds per RFB run and encoding (default 2)
  --no-json           do not append to bench/results/results.jsonl`;

function commandFor(emu, iso) {
  if (isVireo(emu)) {
    return { cmd: process.execPath, args: [path.join(REPO_DIR, 'bin', 'vireo.js'), 'run', '--cdrom', iso, '--serial', 'stdio', '--memory', `${MEMORY_MIB}M`], env: { VIREO_STATS: '1', ...vireoEnv(emu) } };
  }
  if (emu === 'qemu') {
    return { cmd: 'qemu-system-i386', args: ['-accel', 'tcg', '-m', String(MEMORY_MIB), '-cdrom', iso, '-nographic', '-no-reboot'] };
  }
  return {
    cmd: process.execPath,
    args: [path.join(BENCH_DIR, 'v86-child.mjs'), '--bios', SEABIOS, '--vga-bios', VGABIOS, '--cdrom', iso,
      '--memory-mib', String(MEMORY_MIB), ...V86_POWER_OFF.flatMap((s) => ['--stop-on', s]), ...(emu === 'v86-nojit' ? ['--no-jit'] : [])],
  };
}

/**
 * Instructions per second from `VIREO_STATS=1` lines on Vireo's stderr, if this build prints
 * them: a line mentioning "stats" with key=value (or JSON "key":value) pairs, where
 * `mips`, `ips`, or `instructions` with `ms`/`wall_ms`/`seconds` give the rate.
 */
export function parseVireoStats(stderr) {
  for (const line of stderr.split('\n').reverse()) {
    if (!/stats/i.test(line)) continue;
    const kv = {};
    for (const m of line.matchAll(/"?([a-z_]+)"?\s*[=:]\s*([0-9.eE+]+)/gi)) kv[m[1].toLowerCase()] = Number(m[2]);
    if (Number.isFinite(kv.mips)) return kv.mips;
    if (Number.isFinite(kv.ips)) return kv.ips / 1e6;
    const insns = kv.instructions ?? kv.insns;
    const ms = kv.wall_ms ?? kv.ms ?? kv.run_ms ?? (kv.seconds != null ? kv.seconds * 1000 : undefined);
    if (Number.isFinite(insns) && ms > 0) return insns / ms / 1000;
  }
  return null;
}

function lastLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** Where each run's serial output is kept (overwritten by the next bench), for diagnosis. */
const SERIAL_DIR = path.join(path.dirname(RESULTS_FILE), 'serial');

async function runOnce(emu, iso, timeoutMs, run) {
  const { cmd, args, env } = commandFor(emu, iso);
  let bootAt = null; let doneAt = null; let serial = '';
  const r = await runMeasured({
    cmd, args, env, timeoutMs,
    onStdout: (text, now) => {
      serial += text;
      if (bootAt === null && serial.includes(BOOT_MARKER)) bootAt = now;
      if (doneAt === null && serial.includes(DONE_MARKER)) doneAt = now;
    },
  });
  if (r.spawnError) return { status: 'error', message: `cannot start ${cmd}: ${r.spawnError}` };
  try {
    mkdirSync(SERIAL_DIR, { recursive: true });
    writeFileSync(path.join(SERIAL_DIR, `linux-${emu}-run${run}.txt`), `${serial}\n--- stderr ---\n${r.stderr}`);
  } catch { /* diagnostics only */ }
  const work = WORK_RE.exec(serial);
  const rec = {
    status: 'ok',
    bootS: null, workS: work ? Number(work[1]) / 1000 : null, workSum: work ? work[2] : null,
    poweroffS: null, cpuS: r.cpuS, rssMiB: r.rssKiB != null ? r.rssKiB / 1024 : null, mips: null,
    exitCode: r.exitCode, wallS: r.wallMs / 1000, rusage: r.rusage,
  };
  // Marker times are relative to the spawn.
  rec.bootS = bootAt !== null ? (bootAt - r.t0Ms) / 1000 : null;
  rec.doneS = doneAt !== null ? (doneAt - r.t0Ms) / 1000 : null;
  if (isVireo(emu)) rec.mips = parseVireoStats(r.stderr);
  if (emu.startsWith('v86')) {
    const line = r.stderr.split('\n').reverse().find((l) => l.startsWith('V86-STATS '));
    try {
      const st = line ? JSON.parse(line.slice('V86-STATS '.length)) : null;
      if (st?.instructions && st.runMs) rec.mips = st.instructions / st.runMs / 1000;
    } catch { /* no stats */ }
  }
  if (r.timedOut) {
    return { ...rec, status: 'timeout', message: `killed after ${timeoutMs / 1000} s (${bootAt === null ? 'no boot marker' : doneAt === null ? 'booted, workload unfinished' : 'no power-off'})` };
  }
  const how = r.signal ? `killed by ${r.signal} (not by the harness)` : `exit status ${r.exitCode}`;
  if (bootAt === null) {
    // Vireo refusing the configuration (an error exit before the guest printed anything)
    // means the CLI cannot run this guest yet.
    const refused = isVireo(emu) && !r.signal && r.exitCode !== 0 && serial.trim() === '';
    const err = lastLine(r.stderr);
    return { ...rec, status: refused ? 'not-available' : 'error', message: refused && err ? err : `${how} before the boot marker${err ? `: ${err}` : ''}` };
  }
  if (doneAt === null || (r.exitCode !== 0 && r.exitCode !== null)) {
    const err = lastLine(r.stderr);
    return { ...rec, status: 'error', message: `${how}${doneAt === null ? ' after the boot marker, before the done marker' : ''}${err ? `: ${err}` : ''}` };
  }
  rec.poweroffS = rec.wallS;
  return rec;
}

function missingFor(emu) {
  if (isVireo(emu)) return existsSync(path.join(REPO_DIR, 'dist', 'main', 'cli', 'vireo.js')) ? undefined : 'not built (run npm run build:node)';
  if (emu === 'qemu') return qemuMissing();
  const m = v86Missing();
  if (m) return m;
  if (!existsSync(SEABIOS) || !existsSync(VGABIOS)) return `Debian's SeaBIOS is not installed (${SEABIOS}, ${VGABIOS}: apt-get install seabios)`;
  return undefined;
}

async function runLinuxBench({ runs, only, timeoutSec, workMiB, json, env }) {
  const title = `Linux guest: ISO as CD-ROM, ${MEMORY_MIB} MiB, workload = sha256sum of ${workMiB} MiB of zeros, ${runs} run(s) each`;
  const toolsMissing = guestToolsMissing();
  let iso;
  try {
    iso = buildBenchIso({ workMiB, cmdline: KERNEL_ARGS });
  } catch (err) {
    console.log(`\n${title}\nnot available: cannot build the guest ISO: ${toolsMissing ?? err.message}`);
    return;
  }
  console.error(`linux: guest ISO ${iso}`);
  const emus = only.filter((e) => EMULATORS.includes(e));
  const missing = new Map(emus.map((e) => [e, missingFor(e)]));
  const results = new Map(emus.map((e) => [e, []]));
  const problems = new Map(emus.map((e) => [e, []]));
  for (let run = 1; run <= runs; run++) {
    for (const emu of emus) {
      if (missing.get(emu)) continue;
      process.stderr.write(`linux: ${emu} run ${run}/${runs}... `);
      const rec = await runOnce(emu, iso, timeoutSec * 1000, run);
      process.stderr.write(rec.status === 'ok'
        ? `boot ${rec.bootS.toFixed(1)} s, work ${rec.workS?.toFixed(2)} s, power-off ${rec.poweroffS.toFixed(1)} s\n`
        : `${rec.status}: ${rec.message}\n`);
      if (rec.status === 'ok') results.get(emu).push(rec);
      else problems.get(emu).push(rec);
      if (json) appendResult(json, { time: new Date().toISOString(), suite: 'linux', emulator: emu, run, config: { workMiB, memoryMiB: MEMORY_MIB, kernelArgs: KERNEL_ARGS, iso: path.basename(iso) }, ...rec, loadavg: os.loadavg(), ...env });
    }
  }
  const sums = new Set([...results.values()].flat().map((r) => r.workSum).filter(Boolean));
  printTable({
    title,
    metrics: [
      { key: 'bootS', title: 'boot s' },
      { key: 'workS', title: 'work s (guest)' },
      { key: 'poweroffS', title: 'power-off s' },
      { key: 'cpuS', title: 'CPU s' },
      { key: 'rssMiB', title: 'peak RSS MiB' },
      { key: 'mips', title: 'MIPS' },
    ],
    rows: emus.map((e) => {
      const p = problems.get(e);
      let note;
      if (missing.get(e)) note = `not available: ${missing.get(e)}`;
      else if (results.get(e).length === 0) {
        const na = p.find((x) => x.status === 'not-available');
        note = na ? `not available: ${na.message}` : `failed: ${p[0]?.status}: ${p[0]?.message}`;
      }
      return { key: e, label: LABELS[e], runs: results.get(e), note, failures: !note && p.length ? `${p.length} run(s) failed: ${p[0].status}: ${p[0].message}` : undefined };
    }),
    ratios: ratioRows(emus),
  });
  if (sums.size > 1) console.log(`warning: the guests' workload checksums differ: ${[...sums].join(', ')}`);
  console.log('boot / power-off: host wall seconds from spawn; work: guest-timed (/proc/uptime, 10 ms ticks); CPU: user+sys of the emulator process; MIPS: the emulator\'s own instruction counter over its run (n/a: not reported)');
}

async function main() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      suite: { type: 'string', default: SUITES.join(',') },
      'timeout-sec': { type: 'string', default: '900' },
      'work-mib': { type: 'string', default: '4' },
      'mips-minstr': { type: 'string', default: '60' },
      'rfb-seconds': { type: 'string', default: '2' },
      'no-json': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const runs = Number(values.runs);
  const timeoutSec = Number(values['timeout-sec']);
  const workMiB = Number(values['work-mib']);
  const minstr = Number(values['mips-minstr']);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got "${values.runs}"`);
  if (!(timeoutSec > 0)) throw new Error(`--timeout-sec: expected a positive number, got "${values['timeout-sec']}"`);
  if (!Number.isInteger(workMiB) || workMiB < 1 || workMiB > 128) throw new Error(`--work-mib: expected 1..128, got "${values['work-mib']}"`);
  if (!(minstr > 0)) throw new Error(`--mips-minstr: expected a positive number, got "${values['mips-minstr']}"`);
  const rfbSeconds = Number(values['rfb-seconds']);
  if (!(rfbSeconds > 0 && rfbSeconds <= 60)) throw new Error(`--rfb-seconds: expected a number in (0, 60], got "${values['rfb-seconds']}"`);
  const suites = values.suite.split(',').map((s) => s.trim());
  for (const s of suites) if (!SUITES.includes(s)) throw new Error(`--suite: unknown suite "${s}" (${SUITES.join(', ')})`);
  const only = parseOnly(values.only, EMULATORS);
  const json = values['no-json'] ? null : RESULTS_FILE;

  const env = environmentInfo();
  console.log(`host: ${env.host.cpuModel}, ${env.host.cores} cores, ${env.host.memoryMiB} MiB; node ${env.versions.node}; ${env.versions.qemu ?? 'qemu missing'}; v86 ${env.versions.v86 ?? 'missing'}; git ${env.git.head?.slice(0, 12) ?? '?'}${env.git.dirty ? ' (dirty)' : ''}`);
  warnIfBusy();
  if (suites.includes('linux')) await runLinuxBench({ runs, only, timeoutSec, workMiB, json, env });
  if (suites.includes('mips')) await runMipsBench({ runs, only: only.filter((e) => MIPS_EMULATORS.includes(e)), timeoutSec, minstr, json, env });
  if (suites.includes('rfb')) await runRfbBench({ runs, seconds: rfbSeconds, timeoutSec, json, env });
  if (suites.includes('coldstart')) await runColdStartBench({ runs, timeoutSec, json, env });
  if (suites.includes('workermem')) await runWorkerMemBench({ runs, timeoutSec, json, env });
  if (json) console.log(`\nresults appended to ${path.relative(process.cwd(), json)}`);
}

// Run only as a script (tests import parseVireoStats).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => { console.error(`bench: ${err.message}`); process.exit(1); });
}
