/**
 * virtio-scsi (virtio 1.2 §5.6) through the PCI transport and the driver-side queue
 * mock: configuration, commands to a disk and a CD-ROM (INQUIRY, unit attention with
 * autosense, READ CAPACITY, WRITE/READ with checksums, residuals), addressing errors,
 * overruns, task management and asynchronous notification, resets with I/O in flight,
 * malformed chains, state round trips, and fuzzing with hostile rings and requests.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { be32 } from '../scsi/scsi-cdb.js';
import { GatedBackend, memoryBackend, pattern } from '../scsi/test-support/scsi-harness.js';
import type { MockDriverQueue } from './test-support/mock-driver.js';
import { bringUp, type VirtioRig } from './test-support/pci-driver.js';
import { VIRTIO_STATUS_DEVICE_NEEDS_RESET, virtioPciIdentity } from './virtio-constants.js';
import { VirtioPci } from './virtio-pci.js';
import {
  encodeLun, VIRTIO_SCSI_CONTROLQ, VIRTIO_SCSI_EVENTQ, VIRTIO_SCSI_REQUESTQ, VIRTIO_SCSI_S_ABORTED,
  VIRTIO_SCSI_S_BAD_TARGET, VIRTIO_SCSI_S_FUNCTION_COMPLETE, VIRTIO_SCSI_S_FUNCTION_REJECTED,
  VIRTIO_SCSI_S_FUNCTION_SUCCEEDED, VIRTIO_SCSI_S_INCORRECT_LUN, VIRTIO_SCSI_S_OK, VIRTIO_SCSI_S_OVERRUN,
  VIRTIO_SCSI_T_AN_QUERY, VIRTIO_SCSI_T_TMF, VIRTIO_SCSI_T_TMF_ABORT_TASK, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET,
  VIRTIO_SCSI_T_TMF_QUERY_TASK, VirtioScsi, type VirtioScsiUnitConfig,
} from './virtio-scsi.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './virtqueue.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const RESP = 12 + 96;

function req(target: number, lun: number, cdb: readonly number[], tag = 0, cdbSize = 32): Uint8Array {
  const b = new Uint8Array(19 + cdbSize);
  b.set(encodeLun(target, lun));
  new DataView(b.buffer).setBigUint64(8, BigInt(tag), true);
  b.set(cdb.slice(0, cdbSize), 19);
  return b;
}

interface Resp { senseLen: number; resid: number; status: number; response: number; sense: number[] }

function resp(q: MockDriverQueue, gpa: number): Resp {
  const b = q.read(gpa, RESP);
  const dv = new DataView(b.buffer);
  const senseLen = dv.getUint32(0, true);
  return { senseLen, resid: dv.getUint32(4, true), status: b[10]!, response: b[11]!, sense: [b[14]! & 0x0f, b[24]!, b[25]!] };
}

function cdb10(op: number, lba: number, count: number): number[] {
  return [op, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, count >> 8, count & 0xff, 0];
}

async function rig(units?: VirtioScsiUnitConfig[]): Promise<{ scsi: VirtioScsi; r: VirtioRig; q: MockDriverQueue; ctl: MockDriverQueue }> {
  const disk = await memoryBackend(64 * 1024);
  const cd = await memoryBackend(pattern(20 * 2048, 4), true);
  const scsi = new VirtioScsi({
    id: 'vscsi', units: units ?? [
      { target: 0, lun: 0, kind: 'disk', backend: disk.backend, serial: 'DISK0' },
      { target: 1, lun: 0, kind: 'cdrom', backend: cd.backend },
    ],
  });
  const r = bringUp(scsi, { msix: true });
  return { scsi, r, q: r.queues[VIRTIO_SCSI_REQUESTQ]!, ctl: r.queues[VIRTIO_SCSI_CONTROLQ]! };
}

/** Posts a command, notifies, drains; returns the response and the data-in bytes. */
async function command(t: { scsi: VirtioScsi; r: VirtioRig; q: MockDriverQueue }, target: number, lun: number, cdb: readonly number[],
  opts: { dataOut?: Uint8Array; dataIn?: number; tag?: number; indirect?: boolean } = {}): Promise<{ resp: Resp; data: Uint8Array; len: number }> {
  const bufs = [{ data: req(target, lun, cdb, opts.tag ?? 0) }, ...(opts.dataOut ? [{ data: opts.dataOut }] : []), { writeLen: RESP },
    ...(opts.dataIn ? [{ writeLen: opts.dataIn }] : [])];
  const p = t.q.post(bufs, { indirect: opts.indirect ?? false });
  t.r.notify(VIRTIO_SCSI_REQUESTQ);
  await t.scsi.drain();
  const used = t.q.takeUsed();
  expect(used.map((u) => u.id)).toEqual([p.head]);
  const respAt = p.gpas[opts.dataOut ? 2 : 1]!;
  const dataAt = p.gpas[opts.dataOut ? 3 : 2];
  return { resp: resp(t.q, respAt), data: dataAt !== undefined ? t.q.read(dataAt, opts.dataIn ?? 0) : new Uint8Array(0), len: used[0]!.len };
}

function tmf(subtype: number, target: number, lun: number, tag = 0): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, VIRTIO_SCSI_T_TMF, true);
  dv.setUint32(4, subtype, true);
  b.set(encodeLun(target, lun), 8);
  dv.setBigUint64(16, BigInt(tag), true);
  return b;
}

describe('VirtioScsi (virtio 1.2 §5.6)', () => {
  it('exposes the §5.6.4 configuration', async () => {
    const { scsi } = await rig();
    const cfg = [0, 4, 8, 12, 16, 20, 24].map((o) => scsi.readConfig(o, 4));
    expect(cfg).toEqual([1, 254, 0xffff, 128, 16, 96, 32]);
    expect([scsi.readConfig(28, 2), scsi.readConfig(30, 2), scsi.readConfig(32, 4)]).toEqual([0, 255, 16383]);
    expect(scsi.deviceType).toBe(8);
    expect(virtioPciIdentity(scsi.deviceType)).toEqual({ deviceId: 0x1004, classCode: 0x010000, subsystemId: 0x0008, revision: 0, transitional: true });
    expect(scsi.queueMaxSizes).toHaveLength(3);
  });

  it('runs INQUIRY, reports the unit attention as autosense, reads the capacity and round-trips data', async () => {
    const t = await rig();
    const inq = await command(t, 0, 0, [0x12, 0, 0, 0, 36], { dataIn: 36 });
    expect([inq.resp.response, inq.resp.status, inq.resp.resid, inq.len]).toEqual([VIRTIO_SCSI_S_OK, 0, 0, RESP + 36]);
    expect(new TextDecoder().decode(inq.data.subarray(8, 32))).toBe('QEMU    QEMU HARDDISK   ');
    const ua = await command(t, 0, 0, [0x00]);
    expect([ua.resp.status, ua.resp.senseLen, ...ua.resp.sense]).toEqual([2, 18, 0x06, 0x29, 0x00]);
    expect((await command(t, 0, 0, [0x00])).resp.status).toBe(0);
    const cap = await command(t, 0, 0, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { dataIn: 8 });
    expect([be32(cap.data, 0), be32(cap.data, 4)]).toEqual([127, 512]);
    const data = pattern(4096, 8);
    const w = await command(t, 0, 0, cdb10(0x2a, 16, 8), { dataOut: data });
    expect([w.resp.response, w.resp.status, w.resp.resid, w.len]).toEqual([0, 0, 0, RESP]);
    const rd = await command(t, 0, 0, cdb10(0x28, 16, 8), { dataIn: 4096, indirect: true });
    expect(sha(rd.data)).toBe(sha(data));
    // a data-in buffer larger than the transfer: resid is what was not written
    const big = await command(t, 0, 0, cdb10(0x28, 16, 1), { dataIn: 1024 });
    expect([big.resp.resid, big.len]).toEqual([512, RESP + 512]);
    // CD-ROM at target 1
    await command(t, 1, 0, [0x00]);
    const cdCap = await command(t, 1, 0, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { dataIn: 8 });
    expect([be32(cdCap.data, 0), be32(cdCap.data, 4)]).toEqual([19, 2048]);
    const cdRead = await command(t, 1, 0, cdb10(0x28, 2, 1), { dataIn: 2048 });
    expect(sha(cdRead.data)).toBe(sha(pattern(20 * 2048, 4).subarray(4096, 6144)));
    expect(t.r.msis.length).toBeGreaterThan(0);
  });

  it('answers BAD_TARGET, absent LUNs, overruns and REPORT LUNS', async () => {
    const t = await rig();
    expect((await command(t, 5, 0, [0x12, 0, 0, 0, 36], { dataIn: 36 })).resp.response).toBe(VIRTIO_SCSI_S_BAD_TARGET);
    const p = t.q.post([{ data: Uint8Array.of(2, 0, 0x40, 0, 0, 0, 0, 0, ...new Uint8Array(43)) }, { writeLen: RESP }]);
    t.r.notify(VIRTIO_SCSI_REQUESTQ);
    await t.scsi.drain();
    t.q.takeUsed();
    expect(resp(t.q, p.gpas[1]!).response).toBe(VIRTIO_SCSI_S_BAD_TARGET);
    const absent = await command(t, 0, 3, [0x00]);
    expect([absent.resp.response, absent.resp.status, ...absent.resp.sense]).toEqual([0, 2, 0x05, 0x25, 0x00]);
    const absentInq = await command(t, 0, 3, [0x12, 0, 0, 0, 36], { dataIn: 36 });
    expect(absentInq.data[0]).toBe(0x7f);
    expect((await command(t, 0, 0, [0x12, 0, 0, 0, 96], { dataIn: 36 })).resp.response).toBe(VIRTIO_SCSI_S_OVERRUN);
    expect((await command(t, 0, 0, cdb10(0x2a, 0, 2), { dataOut: new Uint8Array(512) })).resp.response).toBe(VIRTIO_SCSI_S_OVERRUN);
    const luns = await command(t, 1, 0, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16], { dataIn: 16 });
    expect([...luns.data.subarray(0, 4)]).toEqual([0, 0, 0, 8]);
    expect(t.scsi.guestErrors).toBe(2);
  });

  it('handles task management and asynchronous notification queries on the control queue', async () => {
    const t = await rig();
    await command(t, 0, 0, [0x00]); // consume the power-on unit attention
    const control = async (request: Uint8Array, respLen: number): Promise<Uint8Array> => {
      const p = t.ctl.post([{ data: request }, { writeLen: respLen }]);
      t.r.notify(VIRTIO_SCSI_CONTROLQ);
      await t.scsi.drain();
      expect(t.ctl.takeUsed()).toEqual([{ id: p.head, len: respLen }]);
      return t.ctl.read(p.gpas[1]!, respLen);
    };
    expect((await control(tmf(VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 0, 0), 1))[0]).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect((await command(t, 0, 0, [0x00])).resp.sense).toEqual([0x06, 0x29, 0x00]);
    expect((await control(tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, 7), 1))[0]).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    expect((await control(tmf(99, 0, 0), 1))[0]).toBe(VIRTIO_SCSI_S_FUNCTION_REJECTED);
    expect((await control(tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 9, 0), 1))[0]).toBe(VIRTIO_SCSI_S_BAD_TARGET);
    expect((await control(tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 4), 1))[0]).toBe(VIRTIO_SCSI_S_INCORRECT_LUN);
    const an = new Uint8Array(16);
    an[0] = VIRTIO_SCSI_T_AN_QUERY;
    an.set(encodeLun(0, 0), 4);
    an[12] = 0xff;
    expect([...(await control(an, 5))]).toEqual([0, 0, 0, 0, VIRTIO_SCSI_S_OK]);
    // event buffers are held
    t.r.queues[VIRTIO_SCSI_EVENTQ]!.post([{ writeLen: 16 }]);
    t.r.notify(VIRTIO_SCSI_EVENTQ);
    expect(t.r.queues[VIRTIO_SCSI_EVENTQ]!.usedIdx).toBe(0);
  });

  it('aborts an in-flight command: the command answers ABORTED before the TMF completes', async () => {
    const gated = new GatedBackend(64 * 1024);
    const t = await rig([{ target: 0, lun: 0, kind: 'disk', backend: gated }]);
    await command(t, 0, 0, [0x00]);
    const cmd = t.q.post([{ data: req(0, 0, cdb10(0x28, 0, 1), 42) }, { writeLen: RESP }, { writeLen: 512 }]);
    t.r.notify(VIRTIO_SCSI_REQUESTQ);
    await Promise.resolve();
    expect(gated.waiting).toBe(1);
    const query = t.ctl.post([{ data: tmf(VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 0, 42) }, { writeLen: 1 }]);
    const abort = t.ctl.post([{ data: tmf(VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0, 42) }, { writeLen: 1 }]);
    t.r.notify(VIRTIO_SCSI_CONTROLQ);
    expect(t.ctl.takeUsed()).toEqual([{ id: query.head, len: 1 }]);
    expect(t.ctl.read(query.gpas[1]!, 1)[0]).toBe(VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
    gated.release();
    await t.scsi.drain();
    expect(t.q.takeUsed()).toEqual([{ id: cmd.head, len: RESP }]);
    expect(resp(t.q, cmd.gpas[1]!).response).toBe(VIRTIO_SCSI_S_ABORTED);
    expect(t.ctl.takeUsed()).toEqual([{ id: abort.head, len: 1 }]);
    expect(t.ctl.read(abort.gpas[1]!, 1)[0]).toBe(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
  });

  it('drops completions that arrive after a device reset', async () => {
    const gated = new GatedBackend(64 * 1024);
    const t = await rig([{ target: 0, lun: 0, kind: 'disk', backend: gated }]);
    await command(t, 0, 0, [0x00]);
    const p = t.q.post([{ data: req(0, 0, cdb10(0x28, 0, 1)) }, { writeLen: RESP }, { writeLen: 512 }]);
    t.r.mem.bytes.fill(0xee, p.gpas[2]!, p.gpas[2]! + 512);
    t.r.notify(VIRTIO_SCSI_REQUESTQ);
    await Promise.resolve();
    expect(t.scsi.inFlightCount).toBe(1);
    t.r.setCommon(0x14, 1, 0); // device reset while the read is in flight
    gated.release();
    await t.scsi.drain();
    expect(t.q.usedIdx).toBe(1 /* the TUR */);
    expect(t.r.mem.bytes[p.gpas[2]!]).toBe(0xee);
    expect(t.r.mem.bytes[p.gpas[1]! + 11]).toBe(0);
  });

  it('lets the driver set sense_size and cdb_size (reset restores them) and refuses other config writes', async () => {
    const t = await rig();
    t.scsi.writeConfig(20, 4, 32);
    t.scsi.writeConfig(24, 1, 16);
    expect([t.scsi.senseSize, t.scsi.cdbSize]).toEqual([32, 16]);
    t.scsi.writeConfig(20, 4, 70000);
    t.scsi.writeConfig(0, 4, 9);
    expect([t.scsi.senseSize, t.scsi.readConfig(0, 4)]).toEqual([32, 1]);
    // a request laid out with the new sizes: 19 + 16 header, 12 + 32 response
    const p = t.q.post([{ data: req(0, 0, [0x00], 0, 16) }, { writeLen: 44 }]);
    t.r.notify(VIRTIO_SCSI_REQUESTQ);
    await t.scsi.drain();
    expect(t.q.takeUsed()).toEqual([{ id: p.head, len: 44 }]);
    expect(t.q.read(p.gpas[1]!, 44)[10]).toBe(2); // CHECK CONDITION (power-on unit attention)
    t.r.setCommon(0x14, 1, 0);
    expect([t.scsi.senseSize, t.scsi.cdbSize]).toEqual([96, 32]);
  });

  it('sets DEVICE_NEEDS_RESET for malformed chains', async () => {
    for (const bufs of [
      [{ data: req(0, 0, [0]) }, { writeLen: 20 }], // response shorter than 12 + sense_size
      [{ data: new Uint8Array(30) }, { writeLen: RESP }], // request shorter than 19 + cdb_size
    ]) {
      const t = await rig();
      t.q.post(bufs);
      t.r.notify(VIRTIO_SCSI_REQUESTQ);
      await t.scsi.drain();
      expect(t.r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    }
    for (const bufs of [[{ data: new Uint8Array(2) }, { writeLen: 1 }], [{ data: tmf(0, 0, 0).subarray(0, 20) }, { writeLen: 1 }],
      [{ data: Uint8Array.of(7, 0, 0, 0) }, { writeLen: 1 }]]) {
      const t = await rig();
      t.ctl.post(bufs);
      t.r.notify(VIRTIO_SCSI_CONTROLQ);
      await t.scsi.drain();
      expect(t.r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    }
  });

  it('round-trips its state through the transport and rejects malformed state', async () => {
    const disk = await memoryBackend(8192);
    const make = (): VirtioScsi => new VirtioScsi({ id: 'vs', units: [
      { target: 0, lun: 0, kind: 'disk', backend: disk.backend }, { target: 0, lun: 1, kind: 'cdrom', backend: null },
    ] });
    const dev = make();
    const r = bringUp(dev, { msix: true });
    dev.writeConfig(20, 4, 64);
    const s1 = JSON.parse(JSON.stringify(r.pci.saveState())) as unknown;
    const dev2 = make();
    const pci2 = new VirtioPci({ id: r.pci.id, device: dev2, memory: r.mem, deliverMsi: () => undefined });
    pci2.loadState(s1);
    expect(pci2.saveState()).toEqual(s1);
    expect(dev2.senseSize).toBe(64);
    const before = JSON.stringify(dev2.saveState());
    for (const bad of [null, { v: 2 }, { v: 1, senseSize: 96, cdbSize: 300, units: [] },
      { v: 1, senseSize: 96, cdbSize: 32, units: [{ target: 0, lun: 0, state: { v: 1, attention: null, writeCache: true } }] },
      { ...(dev2.saveState() as object), units: [{ target: 0, lun: 0, state: { v: 1, attention: null, writeCache: true } }, { target: 0, lun: 1, state: { v: 1 } }] }]) {
      expect(() => dev2.loadState(bad)).toThrow();
    }
    expect(JSON.stringify(dev2.saveState())).toBe(before);
  });
});

describe('virtio-scsi fuzz', () => {
  const descArb = fc.record({
    addr: fc.oneof(fc.integer({ min: 0, max: 0xfffff }), fc.constantFrom(0, 0xffff_fff0, 2 ** 40, 2 ** 53 - 16)),
    len: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constantFrom(16, 51, 108, 0xffff_ffff, 0x1000_0000)),
    flags: fc.constantFrom(0, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, 7),
    next: fc.integer({ min: 0, max: 20 }),
  });

  it('random descriptor rings on every queue: NEEDS_RESET or dropped requests, never a throw or hang', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(descArb, { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 10 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ minLength: 128, maxLength: 128 }),
      async (descs, heads, idx, junk) => {
        const t = await rig();
        t.r.queues.forEach((q, qi) => {
          if (!q) return;
          descs.forEach((d, i) => q.writeDesc(i, d));
          for (const h of heads) q.publish(h);
          if (idx % 3 === 0) q.setAvailIdx(idx);
          t.r.mem.bytes.set(junk, 0x800 + qi * 128);
          t.r.notify(qi);
        });
        await t.scsi.drain();
        const needsReset = (t.r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET) !== 0;
        const broken = t.r.pci.queues.some((q) => q.broken !== null);
        expect(broken ? needsReset : true).toBe(true);
      }), { numRuns: 100 });
  });

  it('well-formed chains with random headers, CDBs and buffer sizes always complete (or NEEDS_RESET)', async () => {
    const reqArb = fc.record({
      lun: fc.oneof(fc.constant(Array.from(encodeLun(0, 0))), fc.constant(Array.from(encodeLun(1, 0))), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 })),
      cdb: fc.oneof(
        fc.tuple(fc.constantFrom(0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x43, 0x46, 0x4a, 0x51,
          0x55, 0x5a, 0x88, 0x8a, 0x8f, 0x93, 0x9e, 0xa0, 0xa8, 0xaa, 0xbd, 0xbe), fc.uint8Array({ minLength: 31, maxLength: 31 }))
          .map(([op, rest]) => [op, ...rest]),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 32, maxLength: 32 })),
      dataOut: fc.integer({ min: 0, max: 1100 }),
      dataIn: fc.integer({ min: 0, max: 4200 }),
      respLen: fc.constantFrom(RESP, RESP + 3, 40),
      ctl: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(fc.array(reqArb, { minLength: 1, maxLength: 4 }), async (reqs) => {
      const t = await rig();
      let posted = 0;
      for (const x of reqs) {
        const header = new Uint8Array(51);
        header.set(x.lun);
        header.set(x.cdb, 19);
        if (x.ctl) {
          t.ctl.post([{ data: header.subarray(0, 24) }, { writeLen: 1 }]);
        } else {
          t.q.post([{ data: header }, ...(x.dataOut ? [{ data: new Uint8Array(x.dataOut).fill(0x33) }] : []), { writeLen: x.respLen },
            ...(x.dataIn ? [{ writeLen: x.dataIn }] : [])]);
          posted++;
        }
      }
      t.r.notify(VIRTIO_SCSI_CONTROLQ);
      t.r.notify(VIRTIO_SCSI_REQUESTQ);
      await t.scsi.drain();
      const needsReset = (t.r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET) !== 0;
      if (!needsReset) expect(t.q.takeUsed()).toHaveLength(posted);
      expect(t.scsi.inFlightCount).toBe(0);
    }), { numRuns: 150 });
  });
});
