/**
 * Vireo-only metrics of the app around the emulator (no QEMU/v86 counterpart: n/a):
 *
 * - rfb: full-screen 1024x768x32 updates per second through the in-app RFB path
 *   (bench/rfb-child.mjs, one child process per encoding and run: Raw, ZRLE).
 * - coldstart: `node dist/main/server/cli.js --port 0 --data-dir <3 VMs>` spawned, the
 *   printed URL opened in headless Chromium (launched before, not counted), until the VM
 *   list shows the three names.
 * - workermem: the emulator worker's memory beyond guest RAM (bench/workermem-child.mjs:
 *   128 MiB machine to SeaBIOS "No bootable device", lazily and with guest memory
 *   pre-touched).
 *
 * Runs are interleaved like the other suites. bench/run.mjs calls these; see bench/README.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, REPO_DIR, appendResult, printTable, procCpuSeconds, runMeasured } from './lib.mjs';

const MiB = 2 ** 20;

function lastLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function resultLine(stdout, prefix) {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(`${prefix} `));
  if (!line) return null;
  try { return JSON.parse(line.slice(prefix.length + 1)); } catch { return null; }
}

/** Runs `node bench/<script> args` and parses its `<prefix> {json}` line. */
async function runChild(script, args, prefix, timeoutMs) {
  const r = await runMeasured({ cmd: process.execPath, args: [path.join(BENCH_DIR, script), ...args], timeoutMs });
  if (r.spawnError) return { status: 'error', message: r.spawnError };
  if (r.timedOut) return { status: 'timeout', message: `killed after ${timeoutMs / 1000} s` };
  const res = resultLine(r.stdout, prefix);
  if (!res || r.exitCode !== 0) return { status: 'error', message: `exit ${r.exitCode ?? r.signal}: ${lastLine(r.stderr) || 'no result line'}` };
  return { status: 'ok', res, procCpuS: r.cpuS, procWallS: r.wallMs / 1000, rssMiB: r.rssKiB != null ? r.rssKiB / 1024 : null };
}

function distMissing(rel) {
  return existsSync(path.join(REPO_DIR, 'dist', rel)) ? undefined : `dist/${rel} is missing (run npm run build:node)`;
}

/** Prints one table whose rows are variants (not emulators), with a note that QEMU/v86 are n/a. */
function printVariants({ title, metrics, variants, results, failures, missing }) {
  printTable({
    title,
    rowTitle: 'variant',
    metrics,
    rows: variants.map(([key, label]) => {
      const ok = results.get(key) ?? [];
      const note = missing ? `not available: ${missing}` : ok.length === 0 ? `failed: ${failures.get(key)?.[0] ?? 'no runs'}` : undefined;
      return { key, label, runs: ok, note, failures: note ? undefined : failures.get(key)?.[0] };
    }),
  });
  console.log('qemu-tcg, v86: n/a (Vireo app metric)');
}

function record(json, env, suite, variant, run, config, rec) {
  if (json) appendResult(json, { time: new Date().toISOString(), suite, emulator: 'vireo', variant, run, config, ...rec, loadavg: os.loadavg(), ...env });
}

// --- rfb ------------------------------------------------------------------------------

const RFB_VARIANTS = [['raw', 'Raw'], ['zrle', 'ZRLE']];

export async function runRfbBench({ runs, seconds, timeoutSec, json, env }) {
  const title = `RFB: full-screen 1024x768x32 updates (VBE LFB, moving gradient) -> VgaRenderer -> RfbServer -> decoding client, ${seconds} s per run, ${runs} run(s) each`;
  const missing = distMissing('emulator/display/rfb/rfb-server.js');
  const results = new Map(); const failures = new Map();
  for (let run = 1; run <= runs && !missing; run++) {
    for (const [enc] of RFB_VARIANTS) {
      process.stderr.write(`rfb: ${enc} run ${run}/${runs}... `);
      const r = await runChild('rfb-child.mjs', ['--encoding', enc, '--seconds', String(seconds)], 'RFB-RESULT', timeoutSec * 1000);
      let rec;
      if (r.status === 'ok') {
        rec = { status: 'ok', ...r.res, procCpuS: r.procCpuS, rssMiB: r.rssMiB };
        process.stderr.write(`${rec.updatesPerS.toFixed(1)} updates/s\n`);
        (results.get(enc) ?? results.set(enc, []).get(enc)).push(rec);
      } else {
        rec = { status: r.status, message: r.message };
        process.stderr.write(`${r.status}: ${r.message}\n`);
        (failures.get(enc) ?? failures.set(enc, []).get(enc)).push(`run ${run}: ${r.status}: ${r.message}`);
      }
      record(json, env, 'rfb', enc, run, { width: 1024, height: 768, bpp: 32, seconds }, rec);
    }
  }
  printVariants({
    title, variants: RFB_VARIANTS, results, failures, missing,
    metrics: [
      { key: 'updatesPerS', title: 'updates/s' },
      { key: 'fbMBps', title: 'fb MB/s' },
      { key: 'wireMBps', title: 'wire MB/s' },
      { key: 'compression', title: 'fb/wire' },
      { key: 'renderMs', title: 'render ms' },
      { key: 'serverMs', title: 'encode ms' },
      { key: 'decodeMs', title: 'decode ms' },
      { key: 'cpuMsPerUpdate', title: 'CPU ms/upd' },
    ],
  });
  console.log('updates/s = updates / (render + encode + decode wall time); the LFB fill ("guest" drawing) is not counted. fb MB/s = 1024x768x4 bytes per update; wire MB/s = bytes the server sent; CPU ms/upd = process CPU over render+encode+decode');
}

// --- cold start --------------------------------------------------------------------------

const VM_NAMES = ['Bench Alpha', 'Bench Bravo', 'Bench Charlie'];
const CHROMIUM = '/usr/bin/chromium';

async function makeDataDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-bench-cold-'));
  const { VmLibrary } = await import(new URL('../dist/main/host/vm-library.js', import.meta.url).href);
  const lib = await VmLibrary.open({ dataDir: dir });
  for (const name of VM_NAMES) await lib.create({ name, os: { id: 'debian13', name: 'Debian 13' }, cpus: 1, memoryMiB: 256 });
  return dir;
}

/** One cold start: spawn the server, open its URL in a fresh browser context, wait for the 3 names. */
async function coldStartOnce(browser, dataDir, timeoutMs) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_DIR, 'dist', 'main', 'server', 'cli.js'), '--port', '0', '--data-dir', dataDir], {
    cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
    await exited;
    clearTimeout(t);
    await context.close().catch(() => {});
  };
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no URL within ${timeoutMs / 1000} s`)), timeoutMs);
      child.stdout.on('data', (d) => {
        out += d;
        const m = /Vireo is running at (\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${lastLine(stderr)}`)); });
    });
    const urlMs = performance.now() - t0;
    await page.goto(url, { timeout: timeoutMs });
    const loadedMs = performance.now() - t0;
    for (const name of VM_NAMES) await page.getByRole('option', { name: new RegExp(name) }).waitFor({ state: 'visible', timeout: timeoutMs });
    const listMs = performance.now() - t0;
    const serverCpuS = procCpuSeconds(child.pid);
    return { status: 'ok', urlMs, loadedMs, listMs, pageMs: listMs - urlMs, serverCpuS };
  } catch (err) {
    return { status: 'error', message: err.message.split('\n')[0] };
  } finally {
    await stop();
  }
}

export async function runColdStartBench({ runs, timeoutSec, json, env }) {
  const title = `Cold start: browser shell (node dist/main/server/cli.js, 3 VMs) to the VM list in headless Chromium, ${runs} run(s)`;
  const variants = [['coldstart', 'browser shell']];
  const results = new Map([['coldstart', []]]); const failures = new Map([['coldstart', []]]);
  let missing = distMissing('main/server/cli.js') ?? distMissing('main/host/vm-library.js');
  if (!missing && !existsSync(path.join(REPO_DIR, 'dist', 'renderer', 'index.html'))) missing = 'dist/renderer is missing: run npm run build (npm run bench builds only the Node side)';
  if (!missing && !existsSync(CHROMIUM)) missing = `${CHROMIUM} is missing (apt-get install chromium)`;
  let chromium;
  if (!missing) {
    try { ({ chromium } = await import('playwright-core')); } catch (err) { missing = `playwright-core cannot be loaded (a devDependency; npm ci): ${err.message}`; }
  }
  if (missing) {
    printVariants({ title, variants, results, failures, missing, metrics: [] });
    return;
  }
  const dataDir = await makeDataDir();
  const l0 = performance.now();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const launchMs = performance.now() - l0;
  try {
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`coldstart: run ${run}/${runs}... `);
      const rec = await coldStartOnce(browser, dataDir, timeoutSec * 1000);
      if (rec.status === 'ok') {
        rec.browserLaunchMs = run === 1 ? launchMs : null;
        results.get('coldstart').push(rec);
        process.stderr.write(`URL ${rec.urlMs.toFixed(0)} ms, list ${rec.listMs.toFixed(0)} ms\n`);
      } else {
        failures.get('coldstart').push(`run ${run}: ${rec.message}`);
        process.stderr.write(`${rec.status}: ${rec.message}\n`);
      }
      record(json, env, 'coldstart', 'browser-shell', run, { vms: VM_NAMES.length, chromium: browser.version() }, rec);
    }
  } finally {
    await browser.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  printVariants({
    title, variants, results, failures,
    metrics: [
      { key: 'urlMs', title: 'spawn->URL ms' },
      { key: 'loadedMs', title: 'spawn->page load ms' },
      { key: 'listMs', title: 'spawn->list ms' },
      { key: 'pageMs', title: 'URL->list ms' },
      { key: 'serverCpuS', title: 'server CPU s' },
    ],
  });
  console.log(`Chromium ${browser.version()} launched once before the runs in ${launchMs.toFixed(0)} ms (not counted); each run: a fresh server process and a fresh browser context (empty cache). server CPU = the server's user+sys at "list visible" (10 ms ticks)`);
}

// --- worker memory -------------------------------------------------------------------------

const WM_VARIANTS = [['lazy', 'as run'], ['touched', 'RAM pre-touched']];

export async function runWorkerMemBench({ runs, timeoutSec, json, env }) {
  const memoryMiB = 128;
  const title = `Emulator worker memory: ${memoryMiB} MiB machine (dist/emulator/worker/machine-worker.js) to SeaBIOS "No bootable device", ${runs} run(s) each`;
  const missing = distMissing('emulator/worker/machine-worker.js');
  const results = new Map(); const failures = new Map();
  for (let run = 1; run <= runs && !missing; run++) {
    for (const [v] of WM_VARIANTS) {
      process.stderr.write(`workermem: ${v} run ${run}/${runs}... `);
      const r = await runChild('workermem-child.mjs', ['--memory-mib', String(memoryMiB), '--timeout-sec', String(Math.min(timeoutSec, 120)), ...(v === 'touched' ? ['--touch'] : [])], 'WORKERMEM-RESULT', timeoutSec * 1000);
      let rec;
      if (r.status === 'ok') {
        const x = r.res;
        const rssDelta = x.after.rss - x.before.rss;
        rec = {
          status: 'ok', ...x,
          rssDeltaMiB: rssDelta / MiB,
          guestRamMiB: x.memoryBytes / MiB,
          sabMiB: x.sabBytes / MiB,
          sabResidentMiB: x.sabResident != null ? x.sabResident / MiB : null,
          overheadMiB: (rssDelta - x.memoryBytes) / MiB,
          overheadResidentMiB: x.sabResident != null ? (rssDelta - x.sabResident) / MiB : null,
          externalDeltaMiB: (x.after.external - x.before.external) / MiB,
          arrayBuffersDeltaMiB: (x.after.arrayBuffers - x.before.arrayBuffers) / MiB,
          bootS: x.bootMs / 1000,
          peakRssMiB: r.rssMiB,
        };
        process.stderr.write(`rss +${rec.rssDeltaMiB.toFixed(1)} MiB\n`);
        (results.get(v) ?? results.set(v, []).get(v)).push(rec);
      } else {
        rec = { status: r.status, message: r.message };
        process.stderr.write(`${r.status}: ${r.message}\n`);
        (failures.get(v) ?? failures.set(v, []).get(v)).push(`run ${run}: ${r.status}: ${r.message}`);
      }
      record(json, env, 'workermem', v, run, { memoryMiB }, rec);
    }
  }
  printVariants({
    title, variants: WM_VARIANTS, results, failures, missing,
    metrics: [
      { key: 'rssDeltaMiB', title: 'RSS delta' },
      { key: 'sabMiB', title: 'SAB' },
      { key: 'sabResidentMiB', title: 'SAB resident' },
      { key: 'overheadMiB', title: 'RSS delta - RAM' },
      { key: 'overheadResidentMiB', title: 'RSS delta - SAB res.' },
      { key: 'externalDeltaMiB', title: 'external delta' },
      { key: 'arrayBuffersDeltaMiB', title: 'arrayBuffers delta' },
      { key: 'bootS', title: 'to marker s' },
    ],
  });
  console.log(`MiB. RSS delta = process RSS after - before the worker. SAB = the machine's SharedArrayBuffer (guest RAM ${memoryMiB} MiB + 16 MiB VRAM + ROMs); SAB resident = its mapping's Rss in /proc/self/smaps (touched pages only; may include a merged neighbour mapping). "RSS delta - RAM" is the brief's overhead (meaningful with RAM pre-touched); "RSS delta - SAB res." is the overhead that is not guest memory (worker isolate, heaps, code, device state). external/arrayBuffers are the main isolate's and do not see the worker's buffers.`);
}
