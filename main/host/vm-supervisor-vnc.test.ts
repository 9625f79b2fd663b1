/**
 * The screen through the supervisor, on the real emulator worker (SeaBIOS): an RFB
 * viewer relayed to the worker's RFB server gets the same pixels as the emulator's own
 * screenshot; a viewer that sends garbage is closed alone; Send-key chords reach the
 * guest. Needs `npm run build:node` first.
 */
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { VmConfig } from '../../protocol/index.js';
import { BUILT_WORKER_URL, builtWorkerMissing } from './test-support/fake-workers.js';
import { RfbMiniClient, rgbaDiff } from './test-support/rfb-mini-client.js';
import { VmSupervisor, type VncSession } from './vm-supervisor.js';

const missing = builtWorkerMissing();
if (missing) console.warn(`screen tests with the real worker skipped: ${missing}`);

const ID = 'test-vnc-0001';

function vm(): VmConfig {
  return VmConfig.parse({
    version: 1, id: ID, name: 'Screen Test', os: { id: 'x', name: 'X' }, cpus: 1, memoryMiB: 64,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A viewer through `sup.openVnc`. */
function viewer(sup: VmSupervisor): { client: RfbMiniClient; session: VncSession } {
  const box: { session?: VncSession } = {};
  const client: RfbMiniClient = new RfbMiniClient((bytes) => box.session?.write(bytes));
  const session = sup.openVnc(ID, { onData: (b) => client.push(b), onClose: (reason) => client.closed(reason) });
  box.session = session;
  return { client, session };
}

describe.skipIf(missing !== null)('VM screen over RFB through the supervisor', () => {
  let sup: VmSupervisor | undefined;

  afterEach(async () => {
    await sup?.close();
    sup = undefined;
  });

  it('serves the screen with the pixels of the emulator screenshot, isolates a bad viewer and sends key chords', async () => {
    sup = new VmSupervisor({ workerUrl: BUILT_WORKER_URL, describeVm: (id) => `VM "${id}"` });
    const s = sup;
    await expect(Promise.resolve().then(() => s.openVnc(ID, { onData: () => undefined, onClose: () => undefined })))
      .rejects.toMatchObject({ code: 'conflict' });
    await s.start(vm());
    await waitUntil('"SeaBIOS" on the screen', async () => (await s.screenText(ID)).includes('SeaBIOS'));

    const good = viewer(s);
    const init = await good.client.handshake();
    expect(init.name).toBe('Screen Test');
    // The screen may still change (boot messages, cursor blink): compare until a frame matches.
    let lastDiff = -2;
    await waitUntil('an RFB frame equal to the screenshot', async () => {
      good.client.requestUpdate(false);
      await good.client.readUpdate();
      const png = PNG.sync.read(Buffer.from(await s.screenshot(ID)));
      if (png.width !== good.client.width || png.height !== good.client.height) { lastDiff = -1; return false; }
      lastDiff = rgbaDiff(good.client.fb, png.data);
      return lastDiff === 0;
    }).catch((err: unknown) => { throw new Error(`${String(err)} (last difference: ${lastDiff} pixels)`); });
    const lit = good.client.fb.filter((v, i) => i % 4 !== 3 && v !== 0).length;
    expect(lit).toBeGreaterThan(100);

    // A viewer that sends an unknown message type is closed; the VM and the other viewer carry on.
    const bad = viewer(s);
    await bad.client.handshake();
    bad.session.write(Uint8Array.of(0x42, 0, 0, 0)); // no such client message type
    await waitUntil('the bad viewer closed', () => bad.client.closeReason !== null, 20_000);
    expect(bad.client.closeReason).toBe('unknown client message type 66');
    expect(s.stateOf(ID).state).toBe('running');
    good.client.requestUpdate(false);
    expect(await good.client.readUpdate()).toBeGreaterThan(0);
    expect(good.client.closeReason).toBeNull();

    // Send-key chords are validated and reach the keyboard without failing.
    await s.sendKeys(ID, [0x1d, 0x38, 0x0e]);
    expect(s.stateOf(ID).state).toBe('running');

    // Stopping the VM closes the viewer with the reason.
    await s.forceOff(ID);
    await waitUntil('the viewer closed', () => good.client.closeReason !== null, 20_000);
    expect(good.client.closeReason).toBe('Forced off');
  });
});
