/**
 * The supervisor with the real emulator worker (built: `npm run build:node`) booting
 * Debian's SeaBIOS, plus crash handling with stand-in workers.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfig, type VmRunState } from '../../protocol/index.js';
import { ByteRing } from './byte-ring.js';
import { BUILT_WORKER_URL, builtWorkerMissing, createEchoWorker, createThrowingWorker } from './test-support/fake-workers.js';
import { VmSupervisor, workerConfigFor, type SupervisorEvent } from './vm-supervisor.js';

const missing = builtWorkerMissing();
if (missing) console.warn(`supervisor tests with the real worker skipped: ${missing}`);

function vm(overrides: Partial<VmConfig> = {}): VmConfig {
  return VmConfig.parse({
    version: 1, id: 'test-vm-0001', name: 'Test', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 128,
    createdAt: '2026-01-01T00:00:00.000Z', ...overrides,
  });
}

/** Polls `check` until it is true; fails after `timeoutMs` naming `what`. */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('ByteRing', () => {
  it('keeps the last `capacity` bytes across wrap-arounds', () => {
    const ring = new ByteRing(5);
    ring.append(Uint8Array.of(1, 2, 3));
    expect([...ring.snapshot()]).toEqual([1, 2, 3]);
    ring.append(Uint8Array.of(4, 5, 6, 7));
    expect([...ring.snapshot()]).toEqual([3, 4, 5, 6, 7]);
    ring.append(Uint8Array.of(8));
    expect([...ring.snapshot()]).toEqual([4, 5, 6, 7, 8]);
    ring.append(Uint8Array.of(9, 10, 11, 12, 13, 14));
    expect([...ring.snapshot()]).toEqual([10, 11, 12, 13, 14]);
    ring.clear();
    expect(ring.length).toBe(0);
  });
});

describe('workerConfigFor', () => {
  it('passes memory and CPUs and refuses what the emulator cannot run yet, naming the VM and field', () => {
    expect(workerConfigFor(vm({ memoryMiB: 64, cpus: 1 }))).toMatchObject({ memoryBytes: 64 * 1024 * 1024, cpus: 1, deterministic: false, drives: [] });
    expect(() => workerConfigFor(vm({ firmware: 'uefi' }))).toThrow(/^firmware: VM "Test" uses UEFI/);
    expect(workerConfigFor(vm({ backend: 'kvm' })).backend).toBe('kvm');
    expect(workerConfigFor(vm()).tablet).toBe(true); // virt-manager's default: a tablet
    expect(workerConfigFor(vm({ input: { tablet: false } })).tablet).toBe(false);
  });

  it('passes IDE, virtio-blk and virtio-scsi drives and the boot preference; refuses a CD-ROM on virtio-blk', () => {
    const cfg = workerConfigFor(vm({
      bootOrder: ['cdrom', 'disk'],
      drives: [
        { id: 'd0', kind: 'disk', path: '/vm/disk.qcow2', format: 'qcow2', bus: 'ide', readOnly: false },
        { id: 'c0', kind: 'cdrom', path: '/iso/install.iso', format: 'iso', bus: 'ide', readOnly: true },
        { id: 'c1', kind: 'cdrom', path: '', format: 'iso', bus: 'ide', readOnly: true },
      ],
    }));
    expect(cfg.drives).toEqual([
      { kind: 'disk', path: '/vm/disk.qcow2', format: 'qcow2', readOnly: false },
      { kind: 'cdrom', path: '/iso/install.iso' },
      { kind: 'cdrom', path: null },
    ]);
    expect(cfg.boot).toBe('cdrom');
    expect(workerConfigFor(vm({ drives: [{ id: 'v', kind: 'disk', path: '/vm/v.img', format: 'raw', bus: 'virtio', readOnly: false }] })).drives)
      .toEqual([{ kind: 'disk', path: '/vm/v.img', format: 'raw', readOnly: false, bus: 'virtio' }]);
    expect(workerConfigFor(vm({ drives: [
      { id: 's', kind: 'disk', path: '/vm/s.img', format: 'raw', bus: 'scsi', readOnly: false },
      { id: 'sc', kind: 'cdrom', path: '/iso/virtio-win.iso', format: 'iso', bus: 'scsi', readOnly: true },
    ] })).drives).toEqual([
      { kind: 'disk', path: '/vm/s.img', format: 'raw', readOnly: false, bus: 'scsi' },
      { kind: 'cdrom', path: '/iso/virtio-win.iso', bus: 'scsi' },
    ]);
    expect(() => workerConfigFor(vm({ drives: [{ id: 'vc', kind: 'cdrom', path: '/iso/x.iso', format: 'iso', bus: 'virtio', readOnly: true }] })))
      .toThrow(/^drives: VM "Test" has a CD-ROM on virtio-blk \(\/iso\/x.iso\); CD-ROMs sit on IDE or SCSI/);
    expect(workerConfigFor(vm({ network: { mode: 'user', model: 'virtio' } })).net).toBe('user');
    expect(workerConfigFor(vm({ network: { mode: 'user', model: 'e1000' } })).net).toBe('none');
  });
});

describe('VmSupervisor', () => {
  let sup: VmSupervisor | undefined;
  let events: SupervisorEvent[] = [];
  const workers: Worker[] = [];
  const states = (): VmRunState[] => events.flatMap((e) => (e.kind === 'state' ? [e.state] : []));

  function supervisor(create: (url: URL) => Worker = (url) => new Worker(url), opts: { stopTimeoutMs?: number } = {}): VmSupervisor {
    events = [];
    sup = new VmSupervisor({
      workerUrl: BUILT_WORKER_URL,
      createWorker: (url) => { const w = create(url); workers.push(w); return w; },
      describeVm: (id) => `VM "${id}"`,
      ...opts,
    });
    sup.on((e) => events.push(e));
    return sup;
  }

  afterEach(async () => {
    await sup?.close();
    sup = undefined;
    workers.length = 0;
  });

  describe.skipIf(missing !== null)('with the real emulator worker', () => {
    it('starts SeaBIOS, reads its screen, pauses, resumes and forces it off', async () => {
      const s = supervisor();
      const id = 'test-vm-0001';
      await s.start(vm());
      expect(s.stateOf(id)).toEqual({ state: 'running' });
      await waitUntil('"SeaBIOS" on the screen', async () => (await s.screenText(id)).includes('SeaBIOS'));
      const png = await s.screenshot(id);
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

      await s.pause(id);
      expect(s.stateOf(id).state).toBe('paused');
      expect(await s.screenText(id)).toContain('SeaBIOS');
      await s.resume(id);
      expect(s.stateOf(id).state).toBe('running');

      await waitUntil('a CPU sample', () => s.statsOf(id).samples.length > 0);
      const sample = s.statsOf(id).samples[0];
      expect(sample?.instructionsPerSec).toBeGreaterThan(0);
      expect(events.some((e) => e.kind === 'stats' && e.stats.id === id)).toBe(true);

      await s.forceOff(id);
      expect(s.stateOf(id)).toEqual({ state: 'stopped', stateReason: 'Forced off' });
      expect(states()).toEqual(['starting', 'running', 'paused', 'running', 'stopped']);
      await expect(s.screenText(id)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/^VM "test-vm-0001" is stopped/) as unknown });
    });

    it('shuts down gracefully through the worker, and can start again', async () => {
      const s = supervisor();
      await s.start(vm());
      await s.stop('test-vm-0001');
      expect(s.stateOf('test-vm-0001')).toEqual({ state: 'stopped', stateReason: 'Shut down' });
      expect(states()).toEqual(['starting', 'running', 'stopping', 'stopped']);
      await s.start(vm());
      expect(s.stateOf('test-vm-0001').state).toBe('running');
    });

    it('marks the VM crashed when its worker dies, and keeps working', async () => {
      const s = supervisor();
      await s.start(vm());
      await workers[0]?.terminate();
      await waitUntil('crashed', () => s.stateOf('test-vm-0001').state === 'crashed', 10_000);
      expect(s.stateOf('test-vm-0001').stateReason).toMatch(/^The emulator worker exited unexpectedly \(exit code \d+\)$/);
      await s.start(vm());
      expect(s.stateOf('test-vm-0001').state).toBe('running');
    });

    it('marks the VM crashed through the test hook', async () => {
      const s = supervisor();
      await s.start(vm());
      s.killWorkerForTest('test-vm-0001');
      await waitUntil('crashed', () => s.stateOf('test-vm-0001').state === 'crashed', 10_000);
      expect(s.stateOf('test-vm-0001').stateReason).toMatch(/exited unexpectedly/);
    });

    it('marks the VM crashed on a malformed worker message and terminates the worker', async () => {
      const s = supervisor();
      await s.start(vm());
      const w = workers[0];
      if (!w) throw new Error('no worker');
      const exited = new Promise<number>((r) => w.once('exit', r));
      // Delivered exactly as a message posted by the worker would be.
      w.emit('message', { type: 'state', state: 'exploded' });
      expect(s.stateOf('test-vm-0001').state).toBe('crashed');
      expect(s.stateOf('test-vm-0001').stateReason).toMatch(/^The emulator sent a malformed message \(state: /);
      await exited;
      expect(s.isActive('test-vm-0001')).toBe(false);
    });

    it('reports a start the emulator refuses as stopped with the reason', async () => {
      const s = supervisor();
      await expect(s.start(vm({ cpus: 16 }))).rejects.toThrow(/VM "test-vm-0001": start failed: stopped \(Could not start: .*cpus: expected 1 to 8, got 16/);
      expect(s.stateOf('test-vm-0001').state).toBe('stopped');
    });

    it('refuses actions that do not fit the state with conflict', async () => {
      const s = supervisor();
      await expect(s.pause('test-vm-0001')).rejects.toMatchObject({ code: 'conflict' });
      await expect(s.forceOff('test-vm-0001')).rejects.toMatchObject({ code: 'conflict' });
      await s.start(vm());
      await expect(s.start(vm())).rejects.toMatchObject({ code: 'conflict', message: 'VM "test-vm-0001" is already running' });
      await expect(s.resume('test-vm-0001')).resolves.toBeUndefined();
    });

    it('stops every worker on close()', async () => {
      const s = supervisor();
      await s.start(vm());
      await s.start(vm({ id: 'test-vm-0002', name: 'Second' }));
      const exits = workers.map((w) => new Promise<void>((r) => w.once('exit', () => r())));
      await s.close();
      await Promise.all(exits);
      expect(s.stateOf('test-vm-0001').state).toBe('stopped');
      expect(s.stateOf('test-vm-0002').state).toBe('stopped');
    });
  });

  it('marks the VM crashed when the worker throws while loading', async () => {
    const s = supervisor(() => createThrowingWorker());
    await expect(s.start(vm())).rejects.toThrow(/start failed: crashed \(The emulator failed: boom while loading the emulator\)/);
    expect(s.stateOf('test-vm-0001')).toEqual({ state: 'crashed', stateReason: 'The emulator failed: boom while loading the emulator' });
  });

  it('streams serial output with history and sends input to the guest', async () => {
    const s = supervisor(() => createEchoWorker());
    await s.start(vm());
    const historyText = (): string => {
      const probe = s.openSerial('test-vm-0001', { onData: () => undefined });
      probe.close();
      return new TextDecoder().decode(probe.history);
    };
    await waitUntil('boot output', () => historyText().includes('boot'));
    const received: string[] = [];
    const session = s.openSerial('test-vm-0001', { onData: (b) => received.push(new TextDecoder().decode(b)) });
    expect(new TextDecoder().decode(session.history)).toBe('boot\r\n');
    session.write(new TextEncoder().encode('hi'));
    await waitUntil('echo', () => received.join('').includes('echo:hi'), 10_000);
    session.close();
    await s.stop('test-vm-0001');
    // History outlives the run.
    expect(historyText()).toBe('boot\r\necho:hi');
  });
});
