/**
 * `vireo run`: boots a PC machine headless, like a small `qemu-system-i386`, wiring the
 * serial port and debug console to stdio or files, and ending on power-off,
 * isa-debug-exit, a timeout or a string in the output.
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_CHUNK_INSTRUCTIONS, GuestProfiler, chooseBackend, closeDrives, createPcMachine, hostEntropy, parseHostForward, startUserNetwork, type StartedNetwork, createNodeTiming, loadFirmware, openDrives, type AttachedDrive, type BackendChoice, type DriveSpec, type StopReason } from '../../emulator/index.js';
import { openSink, StringWatcher, type ByteSink } from './sinks.js';
import { listenAgentSocket, type AgentSocket } from './agent-socket.js';
import { parseRunOptions, RUN_USAGE, type RunOptions } from './run-options.js';

/** How long the guest keeps running after --exit-on matched, in host milliseconds. */
export const EXIT_ON_GRACE_MS = 100;

/** Exit status when --timeout ends the run (as coreutils timeout(1)). */
export const EXIT_TIMEOUT = 124;

/** Runs `vireo run ARGV`; resolves with the process exit status. */
export async function runCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(RUN_USAGE);
    return 0;
  }
  let opts: RunOptions;
  try {
    opts = parseRunOptions(argv);
  } catch (err) {
    console.error(`vireo run: ${(err as Error).message}`);
    return 1;
  }
  try {
    return await boot(opts);
  } catch (err) {
    console.error(`vireo run: ${(err as Error).message}`);
    return 1;
  }
}

async function boot(opts: RunOptions): Promise<number> {
  // A path the user gave is the only candidate: never fall back silently to another image.
  const only = (explicitPath: string | undefined) => (explicitPath === undefined ? {} : { explicitPath, systemDirs: [] });
  const bios = loadFirmware('bios-256k.bin', only(opts.firmware)).bytes;
  const vgaBios = loadFirmware('vgabios-stdvga.bin', only(opts.vgaBios)).bytes;

  const specs: DriveSpec[] = [
    ...opts.disks.map((d): DriveSpec => ({ kind: 'disk', path: d.path, format: d.format, bus: d.bus })),
    ...(opts.cdrom !== undefined ? [{ kind: 'cdrom', path: opts.cdrom } satisfies DriveSpec] : []),
  ];
  const drives: AttachedDrive[] = await openDrives(specs);
  try {
    const backend = chooseBackend(opts.backend, opts.deterministic, debugLog, opts.cpus, { hyperv: opts.hyperv, irqchip: opts.kvmIrqchip });
    debugLog(`cpu backend: ${backend.kind} (${backend.reason})`);
    // auto says what it picked and why (the log line the issue asks for); explicit choices stay quiet.
    if (opts.backend === 'auto' && !process.env['VIREO_DEBUG']) process.stderr.write(`vireo: cpu backend: ${backend.kind} (${backend.reason})\n`);
    const forwards = opts.net.mode === 'user' ? opts.net.hostfwd.map(parseHostForward) : [];
    const net = opts.net.mode === 'user' ? await startUserNetwork(forwards, debugLog) : undefined;
    try {
      return await runMachine(opts, bios, vgaBios, drives, backend, net);
    } finally {
      await net?.backend.close();
    }
  } finally {
    await closeDrives(drives);
  }
}

async function runMachine(opts: RunOptions, bios: Uint8Array, vgaBios: Uint8Array, drives: AttachedDrive[], backend: BackendChoice,
  net: StartedNetwork | undefined): Promise<number> {
  const serialSink = openSink(opts.serial, '--serial');
  const debugSink = openSink(opts.debugcon, '--debugcon');
  let stopRequest: StopReason | undefined;
  const machineRef: { stop?: (r: StopReason) => void } = {};
  const requestStop = (r: StopReason): void => { stopRequest ??= r; machineRef.stop?.(r); };
  // Firmware often writes a line to the debug port before the screen; a short grace period
  // lets the guest finish the line everywhere before the run stops.
  const watcher = opts.exitOn === undefined ? null
    : new StringWatcher(opts.exitOn, () => { setTimeout(() => requestStop({ kind: 'requested', detail: 'exit-on' }), EXIT_ON_GRACE_MS); });

  const machineForAgent: { input?: (b: Uint8Array) => void } = {};
  const agent: AgentSocket | undefined = opts.agentSocket === undefined ? undefined
    : await listenAgentSocket(opts.agentSocket, (b) => machineForAgent.input?.(b), (m) => process.stderr.write(`vireo run: ${m}\n`));

  const profiler = opts.profile !== undefined ? new GuestProfiler() : undefined;
  let machine: ReturnType<typeof createPcMachine>;
  try {
    machine = createPcMachine({
      memoryBytes: opts.memoryBytes,
      cpus: opts.cpus,
      bios,
      vgaBios,
      drives,
      boot: opts.boot,
      createCpu: backend.createCpu,
      virtio: {
        ...(net ? { net } : {}),
        ...(opts.devices.includes('virtio-rng') ? { rng: hostEntropy } : {}),
        ...(opts.devices.includes('virtio-balloon') ? { balloon: true } : {}),
      ...(opts.devices.includes('virtio-tablet') ? { tablet: true } : {}),
        ...(opts.devices.includes('virtio-serial') ? { serial: { onAgentData: (b: Uint8Array) => agent?.fromGuest(b) } } : {}),
      },
      alignWindow: backend.alignWindow,
      deterministic: opts.deterministic,
      timing: createNodeTiming(),
      rtcStart: new Date(),
      serialOut: (bytes) => { serialSink?.write(bytes); watcher?.feed(bytes); },
      debugconOut: (bytes) => { debugSink?.write(bytes); watcher?.feed(bytes); },
      log: debugLog,
      profiler,
    });
    if (opts.balloonTargetBytes !== undefined) machine.setBalloonTarget(opts.balloonTargetBytes);
  } catch (e) {
    await agent?.close();
    throw e;
  }
  machineRef.stop = (r) => machine.stop(r);
  machineForAgent.input = (b) => machine.agentInput(b);
  if (stopRequest) machine.stop(stopRequest);

  const detachInput = opts.serial === 'stdio' ? attachStdin((b) => machine.serialInput(b), () => requestStop({ kind: 'requested', detail: 'quit' })) : () => {};
  // SIGTERM/SIGINT stop the guest cleanly (drives flushed and closed) and exit 0, as QEMU does.
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`vireo run: terminating on ${sig}\n`);
    requestStop({ kind: 'requested', detail: `signal ${sig}` });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // With VIREO_DEBUG, SIGUSR2 dumps the machine's state (a guest that seems stuck).
  const onDump = (): void => { process.stderr.write(`vireo: state dump\n${machine.debugDump()}\n`); };
  if (process.env['VIREO_DEBUG']) process.on('SIGUSR2', onDump);
  const timer = opts.timeoutSec === undefined ? undefined
    : setTimeout(() => requestStop({ kind: 'requested', detail: 'timeout' }), opts.timeoutSec * 1000);

  let reason: StopReason;
  try {
    const t0 = performance.now();
    try {
      reason = await machine.run();
    } finally {
      if (process.env['VIREO_STATS'] === '1') process.stderr.write(statsLine(machine.instructions, performance.now() - t0) + '\n');
    }
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGUSR2', onDump);
    detachInput();
    await closeAll([serialSink, debugSink]);
    await agent?.close();
  }

  if (profiler && opts.profile !== undefined) writeFileSync(opts.profile, profiler.report(DEFAULT_CHUNK_INSTRUCTIONS));
  if (opts.screenText) process.stdout.write(machine.screenText() + '\n');
  if (opts.screenshot !== undefined) writeFileSync(opts.screenshot, machine.screenshotPng());

  switch (reason.kind) {
    case 'debug-exit': return reason.code;
    case 'power-off': return 0;
    case 'requested':
      if (reason.detail === 'timeout') {
        process.stderr.write(`vireo run: stopped after --timeout ${opts.timeoutSec} s\n`);
        return EXIT_TIMEOUT;
      }
      return 0;
    case 'halted-forever':
      process.stderr.write('vireo run: the guest halted with interrupts disabled and nothing can wake it\n');
      return 1;
    case 'error':
      process.stderr.write(`vireo run: ${reason.message}\n`);
      return 1;
  }
}

/**
 * The `VIREO_STATS=1` line on stderr when the run ends (read by bench/run.mjs): guest
 * instructions retired, wall time of the run, and their ratio in millions per second. For
 * the KVM backend the instruction count is an estimate (see emulator/cpu/kvm).
 */
export function statsLine(instructions: number, wallMs: number): string {
  const mips = wallMs > 0 ? instructions / wallMs / 1000 : 0;
  return `vireo stats: instructions=${instructions} wall_ms=${Math.round(wallMs)} mips=${mips.toFixed(2)}`;
}

/** Diagnostics on stderr when VIREO_DEBUG is set (guest misbehaviour, backend choice). */
function debugLog(message: string): void {
  if (process.env['VIREO_DEBUG']) process.stderr.write(`vireo: ${message}\n`);
}

async function closeAll(sinks: Array<ByteSink | null>): Promise<void> {
  for (const s of sinks) await s?.close();
}

/** Forwards stdin to the guest's serial port; in a terminal, raw mode with Ctrl-A x to quit (as QEMU). */
function attachStdin(onData: (b: Uint8Array) => void, onQuit: () => void): () => void {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  let escape = false;
  const listener = (chunk: Buffer): void => {
    if (tty) {
      for (const byte of chunk) {
        if (escape) {
          escape = false;
          if (byte === 0x78 /* x */) { onQuit(); return; }
          if (byte !== 0x01) onData(Uint8Array.of(0x01));
        } else if (byte === 0x01 /* Ctrl-A */) { escape = true; continue; }
        onData(Uint8Array.of(byte));
      }
    } else {
      onData(new Uint8Array(chunk));
    }
  };
  if (tty) stdin.setRawMode(true);
  stdin.on('data', listener);
  stdin.resume();
  return () => {
    stdin.off('data', listener);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
  };
}
