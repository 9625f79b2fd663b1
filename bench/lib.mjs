/**
 * Shared helpers of the benchmarks: running a child with a timeout in its own process
 * group and measuring its CPU time and peak RSS, statistics, the text table, the
 * results file and host/version information.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.dirname(BENCH_DIR);
export const RESULTS_FILE = path.join(BENCH_DIR, 'results', 'results.jsonl');

/**
 * The emulators compared, in table order, and their labels. `vireo` is Vireo as it ships
 * (block translator on); `vireo-interp` is the same binary with VIREO_JIT=0, the fair
 * peer of v86 without its JIT.
 */
export const EMULATORS = ['vireo', 'vireo-interp', 'qemu', 'v86-jit', 'v86-nojit'];
export const LABELS = {
  vireo: 'vireo', 'vireo-interp': 'vireo (interp only)', qemu: 'qemu-tcg', 'v86-jit': 'v86 (JIT)', 'v86-nojit': 'v86 (no JIT)',
};

/** Whether `emu` is one of Vireo's own configurations. */
export function isVireo(emu) {
  return emu === 'vireo' || emu === 'vireo-interp';
}

/** Extra environment of a Vireo configuration. */
export function vireoEnv(emu) {
  return emu === 'vireo-interp' ? { VIREO_JIT: '0' } : {};
}

/** Ratio rows vireo/X for the selected emulators, and vireo (interp only)/v86 (no JIT). */
export function ratioRows(emus) {
  const label = (e) => LABELS[e].replace(/[()]/g, '');
  const rows = emus.includes('vireo')
    ? emus.filter((e) => e !== 'vireo').map((e) => ({ label: `vireo/${label(e)}`, num: 'vireo', den: e }))
    : [];
  if (emus.includes('vireo-interp') && emus.includes('v86-nojit')) {
    rows.push({ label: `vireo interp only/${label('v86-nojit')}`, num: 'vireo-interp', den: 'v86-nojit' });
  }
  return rows;
}

const GNU_TIME = '/usr/bin/time';
const CLK_TCK = 100; // Linux USER_HZ, the unit of /proc/PID/stat times

/** Process groups of running children, killed if the harness itself is interrupted. */
const liveGroups = new Set();
let signalsHooked = false;

function hookSignals() {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
      process.stderr.write(`\nbench: interrupted (${sig}); children killed\n`);
      process.exit(130);
    });
  }
}

function killGroup(pgid, signal) {
  try { process.kill(-pgid, signal); } catch { /* already gone */ }
}

/** True if `cmd args` runs and exits 0. */
export function commandWorks(cmd, args) {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
  } catch {
    return false;
  }
}

/** First line of `cmd args` output, or null. */
export function commandLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return null;
    return (r.stdout || r.stderr).split('\n')[0].trim() || null;
  } catch {
    return null;
  }
}

/** utime+stime of a process in seconds from /proc, or null. */
export function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch {
    return null;
  }
}

function procPeakRssKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function firstChildPid(pid) {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean);
    return list.length ? Number(list[0]) : null;
  } catch {
    return null;
  }
}

let tmpCounter = 0;

/**
 * Runs `cmd args` in a new process group with stdout/stderr piped, under GNU time(1) for
 * CPU time and peak RSS (or, without /usr/bin/time, by sampling /proc every 100 ms).
 * Kills the whole group (SIGTERM, then SIGKILL after 3 s) on timeout.
 *
 * `onStdout(text, nowMs, api)` sees each chunk with the harness's performance.now(); `api.pid()`
 * is the measured process's pid (the emulator itself, not the time(1) wrapper).
 */
export function runMeasured({ cmd, args, env, cwd, timeoutMs, onStdout }) {
  hookSignals();
  const useTime = existsSync(GNU_TIME);
  const timeFile = path.join(os.tmpdir(), `vireo-bench-${process.pid}-${++tmpCounter}.time`);
  rmSync(timeFile, { force: true });
  const argv = useTime ? [GNU_TIME, '-f', '%e %U %S %M', '-o', timeFile, '--', cmd, ...args] : [cmd, ...args];
  return new Promise((resolve) => {
    const t0 = performance.now();
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { cwd: cwd ?? REPO_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      resolve({ spawnError: err.message });
      return;
    }
    let measuredPid = useTime ? null : child.pid;
    const pid = () => {
      if (measuredPid === null && child.pid !== undefined) measuredPid = firstChildPid(child.pid);
      return measuredPid;
    };
    if (child.pid !== undefined) liveGroups.add(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let sampled = { cpuS: null, rssKiB: null };
    const sampler = useTime ? null : setInterval(() => {
      const c = procCpuSeconds(child.pid);
      const r = procPeakRssKiB(child.pid);
      if (c !== null) sampled = { cpuS: c, rssKiB: r ?? sampled.rssKiB };
    }, 100);
    child.stdout.on('data', (d) => {
      const now = performance.now();
      const text = d.toString('latin1');
      stdout += text;
      onStdout?.(text, now, { pid });
    });
    child.stderr.on('data', (d) => { stderr += d.toString('utf8'); });
    let killTimer;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 3000);
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      liveGroups.delete(child.pid);
      resolve({ spawnError: err.message, stdout, stderr });
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (sampler) clearInterval(sampler);
      // Anything the child left behind in its group goes too.
      killGroup(child.pid, 'SIGKILL');
      liveGroups.delete(child.pid);
      let userS = null; let sysS = null; let cpuS = sampled.cpuS; let rssKiB = sampled.rssKiB;
      let exitCode = code;
      if (useTime && existsSync(timeFile)) {
        const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
        const last = lines[lines.length - 1].trim().split(/\s+/).map(Number);
        if (last.length === 4 && last.every(Number.isFinite)) {
          [, userS, sysS, rssKiB] = last;
          cpuS = userS + sysS;
        }
        const st = /non-zero status (\d+)/.exec(lines.join('\n'));
        if (st) exitCode = Number(st[1]);
        const sg = /terminated by signal (\d+)/.exec(lines.join('\n'));
        if (sg) signal = `signal ${sg[1]}`;
        if (sg) exitCode = null;
        rmSync(timeFile, { force: true });
      }
      resolve({ exitCode, signal, timedOut, t0Ms: t0, wallMs, userS, sysS, cpuS, rssKiB, stdout, stderr, rusage: useTime ? 'time(1)' : 'proc-sampling' });
    });
  });
}

/** min / median / max of the finite numbers in `values`, or null when there are none. */
export function summarize(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

/** Formats a number with about 3 significant digits. */
export function fmt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/**
 * Prints a table: one block of rows (min, med, max) per emulator, one column per metric.
 * `rows`: [{ key, label, runs: [metrics objects], note?, failures? }] where `note` (e.g.
 * "not available: ...") replaces the numbers. `ratios`: [{ label, num, den }] rows of
 * median(num) / median(den) per metric, num and den being row keys. `rowTitle`: the first
 * column's heading (default "emulator").
 */
export function printTable({ title, metrics, rows, ratios = [], rowTitle = 'emulator' }) {
  const head = [rowTitle, 'stat', ...metrics.map((m) => m.title)];
  const body = [];
  const medians = new Map();
  for (const row of rows) {
    if (row.note) {
      body.push([row.label, '', { span: row.note }]);
      continue;
    }
    const sums = metrics.map((m) => summarize(row.runs.map((r) => r[m.key])));
    medians.set(row.key ?? row.label, new Map(metrics.map((m, i) => [m.key, sums[i]?.median ?? null])));
    const n = row.runs.length;
    const stats = n === 1 ? [['n=1', 'median']] : [['min', 'min'], ['med', 'median'], ['max', 'max']];
    stats.forEach(([name, key], i) => {
      body.push([i === 0 ? row.label : '', name, ...sums.map((s) => (s ? fmt(s[key]) : 'n/a'))]);
    });
    if (row.failures) body.push(['', '', { span: row.failures }]);
  }
  for (const r of ratios) {
    const a = medians.get(r.num);
    const b = medians.get(r.den);
    if (!a || !b) {
      body.push([r.label, '', { span: `n/a (no results for ${!a ? r.num : r.den})` }]);
      continue;
    }
    body.push([r.label, 'med', ...metrics.map((m) => {
      if (m.noRatio) return '';
      const x = a?.get(m.key); const y = b?.get(m.key);
      return x != null && y != null && y !== 0 ? `${(x / y).toFixed(2)}x` : '—';
    })]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (typeof r[i] === 'string' ? r[i].length : 0))));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`\n${title}`, line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of body) {
    if (typeof r[2] === 'object') out.push(`${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].span}`);
    else out.push(line(r));
  }
  console.log(out.join('\n'));
}

/** Host, tool versions and git revision, recorded with every result line. */
export function environmentInfo() {
  const cpus = os.cpus();
  let v86 = null;
  try { v86 = JSON.parse(readFileSync(path.join(REPO_DIR, 'node_modules', 'v86', 'package.json'), 'utf8')).version; } catch { /* missing */ }
  let gitHead = null; let gitDirty = null;
  try {
    gitHead = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8' }).trim();
    gitDirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_DIR, encoding: 'utf8' }).trim() !== '';
  } catch { /* not a checkout */ }
  return {
    host: {
      cpuModel: cpus[0]?.model ?? null,
      cores: cpus.length,
      memoryMiB: Math.round(os.totalmem() / 2 ** 20),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    versions: {
      node: process.version,
      qemu: commandLine('qemu-system-i386', ['--version']),
      v86,
      nasm: commandLine('nasm', ['-v']),
    },
    git: { head: gitHead, dirty: gitDirty },
  };
}

/** Appends one JSON line (a run) to the results file. */
export function appendResult(file, record) {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(record) + '\n');
}

/** Warns when the host is busy: wall-clock numbers then mostly measure contention. */
export function warnIfBusy() {
  const load = os.loadavg()[0];
  const cores = os.cpus().length;
  if (load > cores * 0.75) {
    console.log(`note: load average ${load.toFixed(1)} on ${cores} cores — wall-clock times include waiting for a CPU; compare CPU-time columns too.`);
  }
}

/** The npm package v86 is importable (it is a devDependency). */
export function v86Missing() {
  return existsSync(path.join(REPO_DIR, 'node_modules', 'v86', 'build', 'libv86.mjs')) && existsSync(path.join(REPO_DIR, 'node_modules', 'v86', 'build', 'v86.wasm'))
    ? undefined
    : 'the npm package v86 is not installed (devDependency; run npm ci)';
}

/** qemu-system-i386 runs. */
export function qemuMissing() {
  return commandWorks('qemu-system-i386', ['--version']) ? undefined : 'qemu-system-i386 is not installed (apt-get install qemu-system-x86)';
}

/** Splits a comma-separated --only list and checks the names. */
export function parseOnly(text, known) {
  if (!text) return known;
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const out = new Set();
  for (const n of names) {
    if (n === 'v86') { out.add('v86-jit'); out.add('v86-nojit'); continue; }
    if (!known.includes(n)) throw new Error(`--only: unknown emulator "${n}" (known: ${known.join(', ')}, v86)`);
    out.add(n);
  }
  return known.filter((k) => out.has(k));
}
