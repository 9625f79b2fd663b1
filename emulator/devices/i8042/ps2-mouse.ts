/**
 * PS/2 mouse on the 8042's auxiliary port, with the Microsoft IntelliMouse wheel
 * extension (device ID 3, enabled by the sample-rate sequence 200, 100, 80).
 *
 * Follows: IBM PS/2 Hardware Interface Technical Reference, "Pointing Device" chapter:
 * commands E6/E7 scaling 1:1 / 2:1, E8 set resolution, E9 status request, EA stream mode,
 * EB read data, EC reset wrap mode, EE wrap mode, F0 remote mode, F2 read device type,
 * F3 set sample rate, F4/F5 enable/disable reporting, F6 set defaults, FE resend,
 * FF reset (FA AA 00); the 3-byte packet (buttons, X/Y sign and overflow bits, 9-bit
 * two's-complement deltas) and 2:1 scaling table; Microsoft "IntelliMouse" PS/2
 * extension (4th byte = wheel delta). Wrap mode echoes every byte but EC and FF.
 *
 * Movement accumulates until a packet fits in the mouse's buffer; a delta beyond the
 * 9-bit range sets the overflow bit and is clamped, the counters then restart (as a
 * real mouse does when the host does not read fast enough).
 * Leaves out: the IntelliMouse Explorer (ID 4, buttons 4/5), resolution scaling of host
 * deltas (host deltas are counts), sample-rate pacing (packets go out as events arrive).
 */
import { Ps2Queue } from './ps2-queue.js';
import { bool, int, ints, obj } from '../state-check.js';

/** Command: set scaling 1:1. */
export const AUX_SET_SCALE11 = 0xe6;
/** Command: set scaling 2:1. */
export const AUX_SET_SCALE21 = 0xe7;
/** Command: set resolution. */
export const AUX_SET_RES = 0xe8;
/** Command: status request. */
export const AUX_GET_SCALE = 0xe9;
/** Command: set stream mode. */
export const AUX_SET_STREAM = 0xea;
/** Command: read data (remote mode poll). */
export const AUX_POLL = 0xeb;
/** Command: reset wrap mode. */
export const AUX_RESET_WRAP = 0xec;
/** Command: set wrap mode. */
export const AUX_SET_WRAP = 0xee;
/** Command: set remote mode. */
export const AUX_SET_REMOTE = 0xf0;
/** Command: read device type. */
export const AUX_GET_TYPE = 0xf2;
/** Command: set sample rate. */
export const AUX_SET_SAMPLE = 0xf3;
/** Command: enable data reporting. */
export const AUX_ENABLE_DEV = 0xf4;
/** Command: disable data reporting. */
export const AUX_DISABLE_DEV = 0xf5;
/** Command: set defaults. */
export const AUX_SET_DEFAULT = 0xf6;
/** Command: resend. */
export const AUX_RESEND = 0xfe;
/** Command: reset. */
export const AUX_RESET = 0xff;
/** Reply: acknowledge. */
export const AUX_ACK = 0xfa;
/** Reply: resend / invalid argument. */
export const AUX_NAK = 0xfe;

/** Packet byte 0: always 1. */
export const MOUSE_PKT_ALWAYS1 = 0x08;
/** Packet byte 0: X sign. */
export const MOUSE_PKT_XSIGN = 0x10;
/** Packet byte 0: Y sign. */
export const MOUSE_PKT_YSIGN = 0x20;
/** Packet byte 0: X overflow. */
export const MOUSE_PKT_XOVF = 0x40;
/** Packet byte 0: Y overflow. */
export const MOUSE_PKT_YOVF = 0x80;

const QUEUE_BYTES = 256;
const MODE_STREAM = 0;
const MODE_REMOTE = 1;
const MODE_WRAP = 2;

/** Named fields of the mouse's state. */
export interface Ps2MouseState {
  replies: number[];
  data: number[];
  mode: number;
  /** Mode to return to when wrap mode ends. */
  modeBeforeWrap: number;
  reporting: boolean;
  sampleRate: number;
  resolution: number;
  scaling21: boolean;
  deviceId: number;
  rateHistory: number[];
  dx: number;
  dy: number;
  dz: number;
  buttons: number;
  pendingCmd: number;
  lastByte: number;
  held: boolean;
}

/** The mouse. Owned by the I8042, which pulls its bytes. */
export class Ps2Mouse {
  private readonly q = new Ps2Queue(QUEUE_BYTES);
  private mode = MODE_STREAM;
  private modeBeforeWrap = MODE_STREAM;
  private reporting = false;
  private sampleRate = 100;
  private resolution = 2;
  private scaling21 = false;
  private deviceId = 0;
  private rateHistory: number[] = [];
  /** Accumulated motion, PS/2 convention (y up). */
  private dx = 0;
  private dy = 0;
  private dz = 0;
  private buttons = 0;
  private pendingCmd = 0;
  private lastByte = 0;
  /** A report is waiting for room in the buffer. */
  private held = false;

  /**
   * @param notify called when bytes become available
   * @param log optional logger for guest misuse
   */
  constructor(
    private readonly notify: () => void,
    private readonly log?: (message: string) => void,
  ) {}

  /** Bytes waiting for the controller. */
  get pending(): number {
    return this.q.length;
  }

  /** Current device ID (0 = standard, 3 = IntelliMouse with wheel). */
  get id(): number {
    return this.deviceId;
  }

  /** The controller takes the next byte; freed room may let a held packet out. */
  take(): number | undefined {
    const b = this.q.shift();
    if (b !== undefined) this.lastByte = b;
    if (this.held && this.q.room >= this.packetSize()) this.sendPacketIfStreaming();
    return b;
  }

  /**
   * Host pointer event: relative motion (dx right, dy down as on screen), buttons
   * (bit 0 left, 1 right, 2 middle) and wheel clicks (negative = up/away from the user).
   */
  move(dx: number, dy: number, buttons: number, wheel: number): void {
    if (!Number.isFinite(dx) || !Number.isFinite(dy) || !Number.isFinite(wheel)) {
      throw new RangeError('ps2-mouse: motion must be finite numbers');
    }
    this.dx += Math.trunc(dx);
    this.dy -= Math.trunc(dy); // PS/2 Y grows upwards
    this.dz += Math.trunc(wheel);
    // Keep the counters bounded while the guest is not reading (overflow is reported anyway).
    this.dx = Math.max(-4096, Math.min(4096, this.dx));
    this.dy = Math.max(-4096, Math.min(4096, this.dy));
    this.dz = Math.max(-4096, Math.min(4096, this.dz));
    const changed = (buttons & 7) !== this.buttons;
    this.buttons = buttons & 7;
    if (changed || this.hasMotion()) this.sendPacketIfStreaming();
  }

  private hasMotion(): boolean {
    return this.dx !== 0 || this.dy !== 0 || (this.deviceId === 3 && this.dz !== 0);
  }

  private sendPacketIfStreaming(): void {
    if (this.mode !== MODE_STREAM || !this.reporting) return;
    if (this.q.room < this.packetSize()) {
      this.held = true; // sent when the controller has drained the buffer
      return;
    }
    this.held = false;
    this.q.push(this.packet());
    this.notify();
  }

  private packetSize(): number {
    return this.deviceId === 3 ? 4 : 3;
  }

  private scale(v: number): number {
    if (!this.scaling21) return v;
    const a = Math.abs(v);
    const s = a <= 5 ? [0, 1, 1, 3, 6, 9][a]! : a * 2;
    return v < 0 ? -s : s;
  }

  /** Builds one packet from the counters and restarts them. */
  private packet(): number[] {
    let b0 = MOUSE_PKT_ALWAYS1 | this.buttons;
    let x = this.scale(this.dx);
    let y = this.scale(this.dy);
    if (x > 255) { x = 255; b0 |= MOUSE_PKT_XOVF; } else if (x < -256) { x = -256; b0 |= MOUSE_PKT_XOVF; }
    if (y > 255) { y = 255; b0 |= MOUSE_PKT_YOVF; } else if (y < -256) { y = -256; b0 |= MOUSE_PKT_YOVF; }
    if (x < 0) b0 |= MOUSE_PKT_XSIGN;
    if (y < 0) b0 |= MOUSE_PKT_YSIGN;
    const out = [b0, x & 0xff, y & 0xff];
    this.dx = 0;
    this.dy = 0;
    if (this.deviceId === 3) {
      const z = Math.max(-128, Math.min(127, this.dz));
      out.push(z & 0xff);
      this.dz -= z;
    } else {
      this.dz = 0;
    }
    return out;
  }

  private setDefaults(): void {
    this.sampleRate = 100;
    this.resolution = 2;
    this.scaling21 = false;
    this.reporting = false;
    this.mode = MODE_STREAM;
  }

  /** A byte from the controller (after the guest's D4 command). */
  write(b: number): void {
    const pending = this.pendingCmd;
    this.pendingCmd = 0;
    if (this.mode === MODE_WRAP && pending === 0 && b !== AUX_RESET_WRAP && b !== AUX_RESET) {
      this.q.reply(b);
      this.notify();
      return;
    }
    if (pending !== 0) {
      this.argument(pending, b);
      this.notify();
      return;
    }
    switch (b) {
      case AUX_SET_SCALE11: this.scaling21 = false; this.q.reply(AUX_ACK); break;
      case AUX_SET_SCALE21: this.scaling21 = true; this.q.reply(AUX_ACK); break;
      case AUX_SET_RES:
      case AUX_SET_SAMPLE:
        this.pendingCmd = b;
        this.q.reply(AUX_ACK);
        break;
      case AUX_GET_SCALE: {
        const status = (this.mode === MODE_REMOTE ? 0x40 : 0) | (this.reporting ? 0x20 : 0) |
          (this.scaling21 ? 0x10 : 0) | (this.buttons & 1 ? 0x04 : 0) | (this.buttons & 4 ? 0x02 : 0) | (this.buttons & 2 ? 0x01 : 0);
        this.q.reply(AUX_ACK, status, this.resolution, this.sampleRate);
        break;
      }
      case AUX_SET_STREAM: this.mode = MODE_STREAM; this.q.reply(AUX_ACK); break;
      case AUX_POLL:
        this.q.reply(AUX_ACK, ...this.packet());
        break;
      case AUX_RESET_WRAP:
        if (this.mode === MODE_WRAP) this.mode = this.modeBeforeWrap;
        this.q.reply(AUX_ACK);
        break;
      case AUX_SET_WRAP:
        if (this.mode !== MODE_WRAP) this.modeBeforeWrap = this.mode;
        this.mode = MODE_WRAP;
        this.q.reply(AUX_ACK);
        break;
      case AUX_SET_REMOTE: this.mode = MODE_REMOTE; this.q.reply(AUX_ACK); break;
      case AUX_GET_TYPE: this.q.reply(AUX_ACK, this.deviceId); break;
      case AUX_ENABLE_DEV: this.reporting = true; this.q.clearData(); this.q.reply(AUX_ACK); break;
      case AUX_DISABLE_DEV: this.reporting = false; this.q.clearData(); this.q.reply(AUX_ACK); break;
      case AUX_SET_DEFAULT: this.setDefaults(); this.q.clearData(); this.q.reply(AUX_ACK); break;
      case AUX_RESEND: this.q.reply(this.lastByte); break;
      case AUX_RESET:
        this.setDefaults();
        this.deviceId = 0;
        this.rateHistory = [];
        this.dx = this.dy = this.dz = 0;
        this.q.clear();
        this.q.reply(AUX_ACK, 0xaa, 0x00);
        break;
      default:
        this.log?.(`ps2-mouse: unknown command 0x${b.toString(16)}`);
        this.q.reply(AUX_NAK);
    }
    this.notify();
  }

  private argument(cmd: number, b: number): void {
    if (cmd === AUX_SET_RES) {
      if (b > 3) {
        this.log?.(`ps2-mouse: bad resolution ${b}`);
        this.q.reply(AUX_NAK);
        return;
      }
      this.resolution = b;
      this.q.reply(AUX_ACK);
      return;
    }
    // AUX_SET_SAMPLE: valid rates per the reference are 10-200; the sequence
    // 200, 100, 80 switches a wheel mouse to ID 3 (IntelliMouse).
    if (b === 0 || b > 200) {
      this.log?.(`ps2-mouse: bad sample rate ${b}`);
      this.q.reply(AUX_NAK);
      return;
    }
    this.sampleRate = b;
    this.rateHistory = [...this.rateHistory, b].slice(-3);
    const [a, c, d] = this.rateHistory;
    if (a === 200 && c === 100 && d === 80) this.deviceId = 3;
    this.q.reply(AUX_ACK);
  }

  /** Power-on state: stream mode, reporting off, ID 0, buffer empty. */
  reset(): void {
    this.q.clear();
    this.setDefaults();
    this.modeBeforeWrap = MODE_STREAM;
    this.deviceId = 0;
    this.rateHistory = [];
    this.dx = this.dy = this.dz = 0;
    this.buttons = 0;
    this.pendingCmd = 0;
    this.lastByte = 0;
    this.held = false;
  }

  /** Plain state. */
  save(): Ps2MouseState {
    return {
      ...this.q.save(), mode: this.mode, modeBeforeWrap: this.modeBeforeWrap, reporting: this.reporting,
      sampleRate: this.sampleRate, resolution: this.resolution, scaling21: this.scaling21, deviceId: this.deviceId,
      rateHistory: [...this.rateHistory], dx: this.dx, dy: this.dy, dz: this.dz, buttons: this.buttons,
      pendingCmd: this.pendingCmd, lastByte: this.lastByte, held: this.held,
    };
  }

  /** Validates untrusted data. */
  static validate(where: string, raw: unknown): Ps2MouseState {
    const s = obj(where, raw);
    const deviceId = int(where, s, 'deviceId', 0, 3);
    if (deviceId !== 0 && deviceId !== 3) throw new Error(`${where}.deviceId: expected 0 or 3`);
    const d = (k: string) => int(where, s, k, -4096, 4096);
    return {
      replies: ints(where, s, 'replies', 0, 0xff, 0, 64), data: ints(where, s, 'data', 0, 0xff, 0, QUEUE_BYTES),
      mode: int(where, s, 'mode', 0, 2), modeBeforeWrap: int(where, s, 'modeBeforeWrap', 0, 1),
      reporting: bool(where, s, 'reporting'), sampleRate: int(where, s, 'sampleRate', 1, 200),
      resolution: int(where, s, 'resolution', 0, 3), scaling21: bool(where, s, 'scaling21'), deviceId,
      rateHistory: ints(where, s, 'rateHistory', 1, 200, 0, 3), dx: d('dx'), dy: d('dy'), dz: d('dz'),
      buttons: int(where, s, 'buttons', 0, 7), pendingCmd: int(where, s, 'pendingCmd', 0, 0xff),
      lastByte: int(where, s, 'lastByte', 0, 0xff), held: bool(where, s, 'held'),
    };
  }

  /** Applies validated state. */
  apply(s: Ps2MouseState): void {
    this.q.load(s);
    this.mode = s.mode;
    this.modeBeforeWrap = s.modeBeforeWrap;
    this.reporting = s.reporting;
    this.sampleRate = s.sampleRate;
    this.resolution = s.resolution;
    this.scaling21 = s.scaling21;
    this.deviceId = s.deviceId;
    this.rateHistory = [...s.rateHistory];
    this.dx = s.dx;
    this.dy = s.dy;
    this.dz = s.dz;
    this.buttons = s.buttons;
    this.pendingCmd = s.pendingCmd;
    this.lastByte = s.lastByte;
    this.held = s.held;
  }
}
