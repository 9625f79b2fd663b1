/**
 * virtio SCSI host bus adapter (virtio 1.2 §5.6) in front of the transport-independent
 * SCSI target of `../scsi/`: queues controlq (0), eventq (1) and one request queue (2)
 * (num_queues = 1, §5.6.2), the configuration layout of §5.6.4 (36 bytes; sense_size and
 * cdb_size are driver-writable, reset to 96 and 32 on a device reset, as QEMU).
 *
 * Request queue (§5.6.6.1): each chain holds the device-readable virtio_scsi_req_cmd
 * (lun[8], id, task_attr, prio, crn, cdb[cdb_size]) and any data-out, then the
 * device-writable virtio_scsi_resp_cmd (sense_len, resid, status_qualifier, status,
 * response, sense[sense_size]) and any data-in. LUN addressing as QEMU (and the Linux and
 * Windows drivers): lun[0] = 1, lun[1] = target, lun[2..3] = 0x4000 | LUN (flat, §5.6.6.1
 * "single-level LUN structure"); any other first byte, or a target without logical
 * units, is VIRTIO_SCSI_S_BAD_TARGET. The command's expected data phase (from its CDB)
 * must fit the buffers the driver gave, else VIRTIO_SCSI_S_OVERRUN (QEMU's check).
 * Otherwise the response is VIRTIO_SCSI_S_OK with the SCSI status, autosense truncated
 * to sense_size, and resid = buffer bytes not transferred.
 *
 * Control queue (§5.6.6.2): task management functions complete once the commands they
 * affect have completed (aborted commands answer VIRTIO_SCSI_S_ABORTED): ABORT_TASK,
 * ABORT_TASK_SET, CLEAR_TASK_SET, LOGICAL_UNIT_RESET (then a unit attention), I_T_NEXUS_
 * RESET (every unit of the target), CLEAR_ACA -> FUNCTION_COMPLETE; QUERY_TASK(_SET) ->
 * FUNCTION_SUCCEEDED while a matching command runs, else FUNCTION_COMPLETE; others
 * FUNCTION_REJECTED; an absent LUN on a present target INCORRECT_LUN. Asynchronous
 * notification queries and subscriptions are answered with no events. The event queue's
 * buffers are held and never used (no hotplug, no parameter change events).
 *
 * Malformed chains (request shorter than the header, response shorter than
 * 12 + sense_size, control requests shorter than their type's layout, unknown control
 * types) set DEVICE_NEEDS_RESET and are dropped, as QEMU's virtio_scsi_bad_req.
 * Completions are asynchronous: after a device reset they are dropped (the context's
 * `live` flag), so they never touch the new rings. `drain()` waits for in-flight work
 * (the machine calls it before a snapshot; a saved state holds no in-flight requests).
 *
 * Left out: multiqueue, VIRTIO_SCSI_F_INOUT (bidirectional), F_HOTPLUG, F_CHANGE, F_T10_PI,
 * task attributes and priorities (every command is a SIMPLE task), event delivery.
 */
import type { AccessSize, DeviceState } from '../device.js';
import type { BlockBackend } from '../../storage/block-backend.js';
import { SCSI_MAX_LUN, ScsiBus, type ScsiBusUnit } from '../scsi/scsi-bus.js';
import { ScsiCdrom } from '../scsi/scsi-cdrom.js';
import { ScsiDisk } from '../scsi/scsi-disk.js';
import { SCSI_DEFAULT_MAX_TRANSFER_BYTES, type ScsiLogicalUnit } from '../scsi/scsi-logical-unit.js';
import { checkCondition, type ScsiResult } from '../scsi/scsi-result.js';
import { SENSE_CODE_INVALID_FIELD } from '../scsi/scsi-sense.js';
import { int, obj, version } from '../state-check.js';
import type { DescriptorChain } from './descriptor-chain.js';
import { VIRTIO_ID_SCSI } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';

/** Feature bits (§5.6.3); none is offered. */
export const VIRTIO_SCSI_F_INOUT = 1n << 0n;
export const VIRTIO_SCSI_F_HOTPLUG = 1n << 1n;
export const VIRTIO_SCSI_F_CHANGE = 1n << 2n;
export const VIRTIO_SCSI_F_T10_PI = 1n << 3n;

/** Queue indices (§5.6.2). */
export const VIRTIO_SCSI_CONTROLQ = 0;
export const VIRTIO_SCSI_EVENTQ = 1;
export const VIRTIO_SCSI_REQUESTQ = 2;

/** Response values (§5.6.6.1.1 and §5.6.6.2). */
export const VIRTIO_SCSI_S_OK = 0;
export const VIRTIO_SCSI_S_FUNCTION_COMPLETE = 0;
export const VIRTIO_SCSI_S_OVERRUN = 1;
export const VIRTIO_SCSI_S_ABORTED = 2;
export const VIRTIO_SCSI_S_BAD_TARGET = 3;
export const VIRTIO_SCSI_S_RESET = 4;
export const VIRTIO_SCSI_S_BUSY = 5;
export const VIRTIO_SCSI_S_TRANSPORT_FAILURE = 6;
export const VIRTIO_SCSI_S_TARGET_FAILURE = 7;
export const VIRTIO_SCSI_S_NEXUS_FAILURE = 8;
export const VIRTIO_SCSI_S_FAILURE = 9;
export const VIRTIO_SCSI_S_FUNCTION_SUCCEEDED = 10;
export const VIRTIO_SCSI_S_FUNCTION_REJECTED = 11;
export const VIRTIO_SCSI_S_INCORRECT_LUN = 12;

/** Control request types (§5.6.6.2). */
export const VIRTIO_SCSI_T_TMF = 0;
export const VIRTIO_SCSI_T_AN_QUERY = 1;
export const VIRTIO_SCSI_T_AN_SUBSCRIBE = 2;
/** Task management function subtypes (§5.6.6.2). */
export const VIRTIO_SCSI_T_TMF_ABORT_TASK = 0;
export const VIRTIO_SCSI_T_TMF_ABORT_TASK_SET = 1;
export const VIRTIO_SCSI_T_TMF_CLEAR_ACA = 2;
export const VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET = 3;
export const VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET = 4;
export const VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET = 5;
export const VIRTIO_SCSI_T_TMF_QUERY_TASK = 6;
export const VIRTIO_SCSI_T_TMF_QUERY_TASK_SET = 7;

/** Bytes of virtio_scsi_req_cmd before the CDB, and of virtio_scsi_resp_cmd before the sense. */
export const VIRTIO_SCSI_REQ_HEADER_BYTES = 19;
export const VIRTIO_SCSI_RESP_HEADER_BYTES = 12;
/** Default sense_size and cdb_size (§5.6.4, QEMU's defaults). */
export const VIRTIO_SCSI_SENSE_DEFAULT = 96;
export const VIRTIO_SCSI_CDB_DEFAULT = 32;
/** event_info_size: sizeof(struct virtio_scsi_event) (§5.6.6.3). */
export const VIRTIO_SCSI_EVENT_BYTES = 16;

const QUEUE_SIZE = 256;
const CONFIG_BYTES = 36;
const TMF_REQ_BYTES = 24;
const AN_REQ_BYTES = 16;
const AN_RESP_BYTES = 5;
/** Config offsets (§5.6.4). */
const CFG_SENSE_SIZE = 20;
const CFG_CDB_SIZE = 24;
const EMPTY = new Uint8Array(0);

/** One logical unit of a virtio-scsi controller. */
export interface VirtioScsiUnitConfig {
  /** Target id, 0..maxTarget. */
  readonly target: number;
  /** LUN, 0..16383. */
  readonly lun: number;
  /** A disk (SBC, 512-byte blocks) or a CD-ROM (MMC, 2048-byte blocks, read-only). */
  readonly kind: 'disk' | 'cdrom';
  /** The image; a CD-ROM may start empty (null). A disk needs one. */
  readonly backend: BlockBackend | null;
  /** Unit serial (VPD 80h/83h); default derived from the controller id and address. */
  readonly serial?: string;
  /** Present a disk read-only even if the backend is writable. */
  readonly readOnly?: boolean;
  /** CD-ROM: the guest ejected `medium`; the host may close it. */
  readonly onGuestEject?: (medium: BlockBackend) => void;
}

/** Construction options of a virtio-scsi controller. */
export interface VirtioScsiOptions {
  /** Stable id (snapshots, logs), e.g. "virtio-scsi0". */
  readonly id: string;
  /** The logical units (any number; distinct addresses). */
  readonly units: readonly VirtioScsiUnitConfig[];
  /** max_target of the configuration (default 255, QEMU's); every unit's target must be <= it. */
  readonly maxTarget?: number;
  /** Host-side I/O error sink (a backend failed, not the guest). */
  readonly onIoError?: (error: unknown) => void;
}

/** A command in flight, for task management. */
interface InFlightCommand {
  readonly target: number;
  readonly lun: number;
  readonly tag: bigint;
  aborted: boolean;
  done: Promise<void>;
}

/** virtio-scsi on the SCSI target of `../scsi/`. */
export class VirtioScsi implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_SCSI;
  readonly queueMaxSizes = [QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE];
  readonly deviceFeatures = 0n;
  readonly configSizeBytes = CONFIG_BYTES;
  /** The SCSI domain behind the controller. */
  readonly bus: ScsiBus;
  /** Requests refused because of the guest (bad addresses, overruns, unknown TMFs). */
  guestErrors = 0;
  private readonly maxTarget: number;
  private readonly onIoError: ((error: unknown) => void) | undefined;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private ctx: VirtioDeviceContext | null = null;
  private readonly pending = new Set<Promise<void>>();
  private readonly commands = new Set<InFlightCommand>();

  constructor(opts: VirtioScsiOptions) {
    this.id = opts.id;
    this.maxTarget = opts.maxTarget ?? 255;
    this.onIoError = opts.onIoError;
    if (!Number.isInteger(this.maxTarget) || this.maxTarget < 0 || this.maxTarget > 255) throw new RangeError(`${this.id}: maxTarget ${this.maxTarget} out of range 0..255`);
    const units: ScsiBusUnit[] = opts.units.map((u) => {
      if (u.target > this.maxTarget) throw new RangeError(`${this.id}: target ${u.target} beyond maxTarget ${this.maxTarget}`);
      const common = { id: `${this.id}-${u.target}-${u.lun}`, onIoError: (e: unknown) => this.onIoError?.(e), ...(u.serial !== undefined ? { serial: u.serial } : {}) };
      let unit: ScsiLogicalUnit;
      if (u.kind === 'disk') {
        if (!u.backend) throw new Error(`${this.id}: disk at target ${u.target} LUN ${u.lun} needs a backend`);
        unit = new ScsiDisk({ ...common, backend: u.backend, readOnly: u.readOnly ?? false });
      } else {
        unit = new ScsiCdrom({ ...common, medium: u.backend, ...(u.onGuestEject ? { onGuestEject: u.onGuestEject } : {}) });
      }
      return { target: u.target, lun: u.lun, unit };
    });
    this.bus = new ScsiBus(units);
    const dv = new DataView(this.config.buffer);
    dv.setUint32(0, 1, true); // num_queues
    dv.setUint32(4, QUEUE_SIZE - 2, true); // seg_max
    dv.setUint32(8, SCSI_DEFAULT_MAX_TRANSFER_BYTES / 512, true); // max_sectors
    dv.setUint32(12, 128, true); // cmd_per_lun
    dv.setUint32(16, VIRTIO_SCSI_EVENT_BYTES, true); // event_info_size
    dv.setUint16(28, 0, true); // max_channel
    dv.setUint16(30, this.maxTarget, true);
    dv.setUint32(32, SCSI_MAX_LUN, true);
    this.resetSizes();
  }

  /** The logical unit at (`target`, `lun`) (host API: CD-ROM media changes). */
  unit(target: number, lun: number): ScsiLogicalUnit | undefined {
    return this.bus.unit(target, lun);
  }

  /** sense_size as the driver set it. */
  get senseSize(): number {
    return readLe(this.config, CFG_SENSE_SIZE, 4);
  }

  /** cdb_size as the driver set it. */
  get cdbSize(): number {
    return readLe(this.config, CFG_CDB_SIZE, 4);
  }

  /** Number of requests (commands and task management functions) still running. */
  get inFlightCount(): number {
    return this.pending.size;
  }

  /** Resolves when every in-flight request has completed. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  /** Only sense_size (< 65536) and cdb_size (< 256) are writable (§5.6.4; QEMU's limits). */
  writeConfig(offset: number, size: AccessSize, value: number): void {
    const field = offset >= CFG_SENSE_SIZE && offset + size <= CFG_SENSE_SIZE + 4 ? CFG_SENSE_SIZE
      : offset >= CFG_CDB_SIZE && offset + size <= CFG_CDB_SIZE + 4 ? CFG_CDB_SIZE : -1;
    if (field < 0) { this.misuse(`write to read-only config offset ${offset}`); return; }
    const next = this.config.slice(field, field + 4);
    for (let i = 0; i < size; i++) next[offset - field + i] = (value >>> (8 * i)) & 0xff;
    const v = readLe(next, 0, 4);
    if (v >= (field === CFG_SENSE_SIZE ? 65536 : 256)) { this.misuse(`${field === CFG_SENSE_SIZE ? 'sense_size' : 'cdb_size'} ${v} too large`); return; }
    this.config.set(next, field);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.queueNotify(VIRTIO_SCSI_CONTROLQ);
    this.queueNotify(VIRTIO_SCSI_REQUESTQ);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live || index === VIRTIO_SCSI_EVENTQ) return; // event buffers are held
    const q = ctx.queue(index);
    if (!q) return;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      if (index === VIRTIO_SCSI_CONTROLQ) this.handleControl(ctx, c);
      else if (index === VIRTIO_SCSI_REQUESTQ) this.handleCommand(ctx, c);
    }
  }

  /** Device reset (§2.4): stale context, default sizes, and a bus reset (a unit attention per unit, as QEMU). */
  reset(): void {
    this.ctx = null; // completions of in-flight requests see a stale context and drop
    this.resetSizes();
    this.bus.reset();
  }

  /** `{ v: 1, senseSize, cdbSize, units: [{ target, lun, state }] }`. */
  saveState(): DeviceState {
    return {
      v: 1, senseSize: this.senseSize, cdbSize: this.cdbSize,
      units: this.bus.units.map((u) => ({ target: u.target, lun: u.lun, state: u.unit.saveState() })),
    };
  }

  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const senseSize = int(this.id, s, 'senseSize', 0, 65535);
    const cdbSize = int(this.id, s, 'cdbSize', 0, 255);
    const raw = s['units'];
    const units = this.bus.units;
    if (!Array.isArray(raw) || raw.length !== units.length) throw new Error(`${this.id}.units: expected ${units.length} entries`);
    const apply = raw.map((r: unknown, i) => {
      const where = `${this.id}.units[${i}]`;
      const u = obj(where, r);
      const want = units[i]!;
      if (u['target'] !== want.target || u['lun'] !== want.lun) throw new Error(`${where}: expected target ${want.target} LUN ${want.lun}`);
      return want.unit.parseState(u['state']);
    });
    const dv = new DataView(this.config.buffer);
    dv.setUint32(CFG_SENSE_SIZE, senseSize, true);
    dv.setUint32(CFG_CDB_SIZE, cdbSize, true);
    for (const a of apply) a();
  }

  // ---- request queue ---------------------------------------------------------------------

  private handleCommand(ctx: VirtioDeviceContext, c: DescriptorChain): void {
    const mem = ctx.memory;
    const cdbSize = this.cdbSize;
    const senseSize = this.senseSize;
    const reqBytes = VIRTIO_SCSI_REQ_HEADER_BYTES + cdbSize;
    const respBytes = VIRTIO_SCSI_RESP_HEADER_BYTES + senseSize;
    if (c.readableBytes < reqBytes || c.writableBytes < respBytes) {
      ctx.needsReset(`${this.id}: command chain with ${c.readableBytes} readable / ${c.writableBytes} writable bytes (need ${reqBytes} / ${respBytes})`);
      return;
    }
    const req = new Uint8Array(reqBytes);
    if (!c.read(mem, 0, req)) { ctx.needsReset(`${this.id}: cannot read the command header`); return; }
    const dataOutBytes = c.readableBytes - reqBytes;
    const dataInCap = c.writableBytes - respBytes;
    const respond = (response: number, r: ScsiResult | null, resid: number, dataBytes: number): void => {
      if (!ctx.live) return;
      const resp = new Uint8Array(respBytes);
      const dv = new DataView(resp.buffer);
      const sense = r?.sense ? r.sense.subarray(0, senseSize) : EMPTY;
      dv.setUint32(0, sense.length, true);
      dv.setUint32(4, Math.max(0, Math.min(resid, 0xffff_ffff)), true);
      resp[10] = r?.status ?? 0;
      resp[11] = response;
      resp.set(sense, VIRTIO_SCSI_RESP_HEADER_BYTES);
      if (!c.write(mem, 0, resp)) { ctx.needsReset(`${this.id}: cannot write the command response`); return; }
      ctx.complete(VIRTIO_SCSI_REQUESTQ, c.head, respBytes + dataBytes);
    };
    const refuse = (response: number, why: string): void => {
      this.misuse(why);
      respond(response, null, dataInCap > 0 ? dataInCap : dataOutBytes, 0);
    };
    const addr = decodeLun(req.subarray(0, 8));
    if (!addr || !this.bus.hasTarget(addr.target)) {
      // Not misuse: drivers scan every target up to max_target.
      respond(VIRTIO_SCSI_S_BAD_TARGET, null, dataInCap > 0 ? dataInCap : dataOutBytes, 0);
      return;
    }
    const { target, lun } = addr;
    const cdb = new Uint8Array(Math.max(cdbSize, VIRTIO_SCSI_CDB_DEFAULT));
    cdb.set(req.subarray(VIRTIO_SCSI_REQ_HEADER_BYTES));
    const x = this.bus.expectedTransfer(target, lun, cdb);
    if ((x.direction === 'in' && x.bytes > dataInCap) || (x.direction === 'out' && x.bytes > dataOutBytes)) {
      refuse(VIRTIO_SCSI_S_OVERRUN, `opcode 0x${cdb[0]!.toString(16)} expects ${x.bytes} bytes ${x.direction}; buffers hold ${x.direction === 'in' ? dataInCap : dataOutBytes}`);
      return;
    }
    let dataOut = EMPTY;
    if (x.direction === 'out') {
      if (x.bytes > SCSI_DEFAULT_MAX_TRANSFER_BYTES) {
        respond(VIRTIO_SCSI_S_OK, checkCondition(SENSE_CODE_INVALID_FIELD), dataOutBytes, 0);
        return;
      }
      dataOut = new Uint8Array(x.bytes);
      if (!c.read(mem, reqBytes, dataOut)) { refuse(VIRTIO_SCSI_S_FAILURE, 'cannot read the data-out buffers'); return; }
    }
    const cmd: InFlightCommand = {
      target, lun, tag: new DataView(req.buffer).getBigUint64(8, true), aborted: false, done: Promise.resolve(),
    };
    const finish = (r: ScsiResult): void => {
      if (!ctx.live) return;
      if (cmd.aborted) { respond(VIRTIO_SCSI_S_ABORTED, null, dataInCap > 0 ? dataInCap : dataOutBytes, 0); return; }
      const data = r.data.subarray(0, dataInCap);
      if (data.length > 0 && !c.write(mem, respBytes, data)) { refuse(VIRTIO_SCSI_S_FAILURE, 'cannot write the data-in buffers'); return; }
      const resid = x.direction === 'out' ? dataOutBytes - x.bytes : dataInCap - data.length;
      respond(VIRTIO_SCSI_S_OK, r, resid, data.length);
    };
    cmd.done = this.bus.execute(target, lun, cdb, dataOut).then(finish, (e: unknown) => {
      this.onIoError?.(e);
      respond(VIRTIO_SCSI_S_TARGET_FAILURE, null, dataInCap, 0);
    });
    this.commands.add(cmd);
    this.track(cmd.done.finally(() => this.commands.delete(cmd)));
  }

  // ---- control queue ---------------------------------------------------------------------

  private handleControl(ctx: VirtioDeviceContext, c: DescriptorChain): void {
    const mem = ctx.memory;
    const head = new Uint8Array(4);
    if (c.readableBytes < 4 || !c.read(mem, 0, head)) { ctx.needsReset(`${this.id}: control request without a type`); return; }
    const type = new DataView(head.buffer).getUint32(0, true);
    switch (type) {
      case VIRTIO_SCSI_T_TMF: {
        const req = new Uint8Array(TMF_REQ_BYTES);
        if (c.writableBytes < 1 || !c.read(mem, 0, req)) { ctx.needsReset(`${this.id}: short task management request`); return; }
        const dv = new DataView(req.buffer);
        const answer = (response: number): void => {
          if (!ctx.live) return;
          if (!c.write(mem, 0, Uint8Array.of(response))) { ctx.needsReset(`${this.id}: cannot write the TMF response`); return; }
          ctx.complete(VIRTIO_SCSI_CONTROLQ, c.head, 1);
        };
        this.taskManagement(dv.getUint32(4, true), req.subarray(8, 16), dv.getBigUint64(16, true), answer);
        return;
      }
      case VIRTIO_SCSI_T_AN_QUERY: case VIRTIO_SCSI_T_AN_SUBSCRIBE: {
        if (c.readableBytes < AN_REQ_BYTES || c.writableBytes < AN_RESP_BYTES) { ctx.needsReset(`${this.id}: short asynchronous notification request`); return; }
        const resp = new Uint8Array(AN_RESP_BYTES); // event_actual 0: no events supported; response OK
        resp[4] = VIRTIO_SCSI_S_OK;
        if (!c.write(mem, 0, resp)) { ctx.needsReset(`${this.id}: cannot write the AN response`); return; }
        ctx.complete(VIRTIO_SCSI_CONTROLQ, c.head, AN_RESP_BYTES);
        return;
      }
      default:
        ctx.needsReset(`${this.id}: unknown control request type ${type}`);
    }
  }

  /** Runs a task management function (SAM-5 §7) and answers through `answer`. */
  private taskManagement(subtype: number, lunBytes: Uint8Array, tag: bigint, answer: (response: number) => void): void {
    const addr = decodeLun(lunBytes);
    if (!addr || !this.bus.hasTarget(addr.target)) { answer(VIRTIO_SCSI_S_BAD_TARGET); return; }
    const { target, lun } = addr;
    const unit = this.bus.unit(target, lun);
    const onLun = (cmd: InFlightCommand): boolean => cmd.target === target && cmd.lun === lun;
    const abortThen = (match: (cmd: InFlightCommand) => boolean, after: () => void): void => {
      const hit = [...this.commands].filter(match);
      for (const cmd of hit) cmd.aborted = true;
      this.track(Promise.allSettled(hit.map((h) => h.done)).then(() => {
        after();
        answer(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
      }));
    };
    if (subtype === VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET) {
      abortThen((cmd) => cmd.target === target, () => {
        for (const u of this.bus.units) if (u.target === target) u.unit.reset();
      });
      return;
    }
    if (subtype > VIRTIO_SCSI_T_TMF_QUERY_TASK_SET) {
      this.misuse(`unknown task management function ${subtype}`);
      answer(VIRTIO_SCSI_S_FUNCTION_REJECTED);
      return;
    }
    if (!unit) { answer(VIRTIO_SCSI_S_INCORRECT_LUN); return; }
    switch (subtype) {
      case VIRTIO_SCSI_T_TMF_ABORT_TASK:
        abortThen((cmd) => onLun(cmd) && cmd.tag === tag, () => undefined);
        return;
      case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET: case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
        abortThen(onLun, () => undefined);
        return;
      case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
        abortThen(onLun, () => unit.reset());
        return;
      case VIRTIO_SCSI_T_TMF_QUERY_TASK:
        answer([...this.commands].some((cmd) => onLun(cmd) && cmd.tag === tag) ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED : VIRTIO_SCSI_S_FUNCTION_COMPLETE);
        return;
      case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
        answer([...this.commands].some(onLun) ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED : VIRTIO_SCSI_S_FUNCTION_COMPLETE);
        return;
      default: // CLEAR_ACA: no ACA is ever established
        answer(VIRTIO_SCSI_S_FUNCTION_COMPLETE);
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private resetSizes(): void {
    const dv = new DataView(this.config.buffer);
    dv.setUint32(CFG_SENSE_SIZE, VIRTIO_SCSI_SENSE_DEFAULT, true);
    dv.setUint32(CFG_CDB_SIZE, VIRTIO_SCSI_CDB_DEFAULT, true);
  }

  private track(p: Promise<unknown>): void {
    const q = p.then(() => undefined, () => undefined);
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  private misuse(why: string): void {
    this.guestErrors++;
    this.ctx?.misuse(`${this.id}: ${why}`);
  }
}

/**
 * Decodes a virtio-scsi LUN field (§5.6.6.1, as QEMU's virtio_scsi_device_get): byte 0
 * is 1, byte 1 the target, bytes 2-3 the LUN in single-level peripheral (00h) or flat
 * (40h-7Fh) addressing. Null for anything else.
 */
export function decodeLun(lun: Uint8Array): { target: number; lun: number } | null {
  if (lun[0] !== 1) return null;
  const b2 = lun[2]!;
  if (b2 !== 0 && !(b2 >= 0x40 && b2 < 0x80)) return null;
  return { target: lun[1]!, lun: ((b2 << 8) | lun[3]!) & 0x3fff };
}

/** Encodes (`target`, `lun`) the way Linux and Windows drivers do: 1, target, 0x40 | lun >> 8, lun. */
export function encodeLun(target: number, lun: number): Uint8Array {
  return Uint8Array.of(1, target, 0x40 | ((lun >> 8) & 0x3f), lun & 0xff, 0, 0, 0, 0);
}
