/**
 * The emulator worker: one per running VM (worker_threads). It receives HostToWorker
 * messages, validates them, builds and drives a PcMachine, and reports state, serial
 * output and results as WorkerToHost messages. A host-side bug in here crashes only this
 * worker; the host marks the VM crashed with the reason.
 */
import { parentPort } from 'node:worker_threads';
import { HostToWorker, type WorkerToHost, type WorkerMachineConfig } from '../../protocol/worker.js';
import { createNodeTiming } from '../host/node-timing.js';
import { loadFirmware } from '../host/firmware-files.js';
import { PcMachine } from '../machine/pc-machine.js';
import { closeDrives, openDrives } from '../host/open-drives.js';
import { openDisk } from '../host/open-disk.js';
import type { BlockBackend } from '../storage/block-backend.js';
import { hostEntropy, startUserNetwork, type StartedNetwork } from '../host/machine-network.js';
import type { AttachedDrive } from '../machine/drives.js';
import { MachineConsole } from './machine-console.js';
import { chooseBackend } from '../host/cpu-backend-select.js';

const port = parentPort;
if (!port) throw new Error('machine-worker.js must run in a worker thread');

function send(msg: WorkerToHost, transfer?: ArrayBuffer[]): void {
  port!.postMessage(msg, transfer);
}

let machine: PcMachine | undefined;
/** The machine's screen and keyboard for viewers (RFB) and Send-key chords. */
let machineConsole: MachineConsole | undefined;

let starting = false;
/** The drives of the running machine, and each CD-ROM drive's current medium (by drive index). */
let runningDrives: AttachedDrive[] = [];
let media: Array<BlockBackend | null> = [];

/**
 * Inserts an ISO into, or ejects the medium of, CD-ROM drive `slot` (its index in the start
 * config's drives) while the guest runs: the guest sees the media change (UNIT ATTENTION,
 * GESN events), as when the virtio driver ISO is swapped in during Windows Setup.
 */
async function changeCdrom(m: PcMachine, slot: number, path: string | null): Promise<void> {
  const drive = runningDrives[slot];
  if (!drive || drive.kind !== 'cdrom' || drive.bus !== 'ide') throw new Error(`cdrom-change: drive ${slot} is not a CD-ROM drive`);
  const cd = m.board.cdroms.get(`${drive.slot.channel}.${drive.slot.unit}`);
  if (!cd) throw new Error(`cdrom-change: no CD-ROM at IDE ${drive.slot.channel}.${drive.slot.unit}`);
  const next = path === null ? null : await openDisk(path, { format: 'iso', readOnly: true, validateIso: true });
  if (cd.currentMedium && !cd.eject()) {
    await next?.close();
    throw new Error('cdrom-change: the guest has locked the tray (PREVENT ALLOW MEDIUM REMOVAL); it was asked to release the medium, try again');
  }
  if (next) cd.insert(next);
  const old = media[slot] ?? null;
  media[slot] = next;
  await m.board.ide.settled(); // no read of the old medium is still in flight
  await old?.close();
}

async function start(config: WorkerMachineConfig): Promise<void> {
  if (machine || starting) { send({ type: 'error', message: 'start: the machine is already running' }); return; }
  starting = true;
  const only = (p: string | undefined) => (p === undefined ? {} : { explicitPath: p, systemDirs: [] });
  const bios = loadFirmware('bios-256k.bin', only(config.biosPath)).bytes;
  const vgaBios = loadFirmware('vgabios-stdvga.bin', only(config.vgaBiosPath)).bytes;
  // Before any image is opened: a refused backend (KVM unusable, several vCPUs) leaves nothing to undo.
  const backend = chooseBackend(config.backend, config.deterministic, (message) => send({ type: 'log', message }), config.cpus, { hyperv: config.hyperv });
  send({ type: 'backend', kind: backend.kind, reason: backend.reason });
  const drives: AttachedDrive[] = await openDrives(config.drives);
  runningDrives = drives;
  media = drives.map((d) => d.backend);
  let net: StartedNetwork | undefined;
  try {
    net = config.net === 'user' ? await startUserNetwork(config.portForwards, (message) => send({ type: 'log', message })) : undefined;
  } catch (err) {
    await closeDrives(drives);
    throw err;
  }
  const m = new PcMachine({
    createCpu: backend.createCpu,
    alignWindow: backend.alignWindow,
    drives,
    virtio: {
      ...(net ? { net } : {}),
      ...(config.virtioExtras ? { rng: hostEntropy, balloon: true, serial: { onAgentData: () => {} } } : {}),
      ...(config.tablet ? { tablet: true } : {}),
    },
    boot: config.boot,
    memoryBytes: config.memoryBytes,
    // The interpreter's CPUs, round-robin in this worker thread (at most PC_MAX_CPUS; more is refused with the reason).
    cpus: config.cpus,
    bios,
    vgaBios,
    deterministic: config.deterministic,
    timing: createNodeTiming(),
    rtcStart: new Date(),
    serialOut: (data) => send({ type: 'serial-out', data }),
    log: (message) => send({ type: 'log', message }),
    onState: (state) => send({ type: 'state', state }),
  });
  machine = m;
  const cons = new MachineConsole(m, send, config, (message) => send({ type: 'log', message }));
  machineConsole = cons;
  const stats = setInterval(() => send({ type: 'stats', instructions: m.instructions, virtualNs: m.clock.nowNs() }), 1000);
  void m.run().then(async (reason) => {
    clearInterval(stats);
    await cons.dispose('the machine stopped');
    // Disk images are flushed and closed (and passt ended) before the host hears "stopped".
    await closeDrives(drives.map((d, i) => (d.kind === 'cdrom' ? { ...d, backend: media[i] ?? null } : d)));
    await net?.backend.close();
    send({ type: 'stopped', reason });
    port!.close();
  });
}

port.on('message', (raw: unknown) => {
  const parsed = HostToWorker.safeParse(raw);
  if (!parsed.success) {
    send({ type: 'error', message: `malformed message from host: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ')}` });
    return;
  }
  const msg = parsed.data;
  const fail = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    send({ type: 'error', message, ...('requestId' in msg ? { requestId: msg.requestId } : {}) });
  };
  try {
    if (msg.type === 'start') {
      start(msg.config).catch((err: unknown) => { starting = false; fail(err); });
      return;
    }
    if (!machine) { send({ type: 'error', message: `${msg.type}: no machine has been started` }); return; }
    switch (msg.type) {
      case 'pause': machine.pause(); break;
      case 'resume': machine.resume(); break;
      case 'stop': machine.stop({ kind: 'requested', detail: 'stop' }); break;
      case 'reset': machine.requestReset(); break;
      case 'power-button': machine.pressPowerButton(); break;
      case 'serial-in': machine.serialInput(msg.data); break;
      case 'screenshot': send({ type: 'screenshot', requestId: msg.requestId, png: machine.screenshotPng() }); break;
      case 'screen-text': send({ type: 'screen-text', requestId: msg.requestId, text: machine.screenText() }); break;
      case 'cdrom-change': {
        const { requestId, slot, path } = msg;
        changeCdrom(machine, slot, path).then(
          () => send({ type: 'cdrom-changed', requestId, slot }),
          (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err), requestId }),
        );
        break;
      }
      case 'rfb-open': machineConsole?.open(msg.connId); break;
      case 'rfb-data': machineConsole?.data(msg.connId, msg.data); break;
      case 'rfb-close': machineConsole?.close(msg.connId); break;
      case 'send-keys': machineConsole?.sendKeys(msg.keys); break;
    }
  } catch (err) {
    fail(err);
  }
});
