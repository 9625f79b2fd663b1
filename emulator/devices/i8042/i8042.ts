/**
 * Intel 8042 keyboard controller (PC/AT and PS/2 "KBC") with its two PS/2 devices: a
 * keyboard on the first port and a mouse on the auxiliary port.
 *
 * Follows: IBM PS/2 Hardware Interface Technical Reference, "Keyboard and Auxiliary
 * Device Controller": status register (OBF, IBF, SYS, A2, INH, AUX_OBF, TIMEOUT, PARITY),
 * controller command byte in controller RAM byte 0 (INT, INT2, SYS, DISABLE, DISABLE2,
 * XLATE), commands 20-3F read RAM, 60-7F write RAM, A4 password test, A7/A8 disable/enable
 * aux, A9 aux interface test, AA self-test (55), AB keyboard interface test, AD/AE
 * disable/enable keyboard, C0 read input port, D0/D1 read/write output port (bit 0 system
 * reset, active low; bit 1 A20; bits 4/5 OBF/AUX_OBF), D2/D3 write keyboard/aux output
 * buffer, D4 write to aux device, E0 read test inputs, F0-FF pulse output lines (bit 0 =
 * reset, so FE resets the CPU); scan code translation from set 2 to set 1 (scancodes.ts).
 * QEMU hw/input/pckbd.c for PC details: DD/DF disable/enable A20, power-on output port
 * 0xcf, the controller's own replies travel through the keyboard channel.
 *
 * One output buffer: when it is empty the controller takes the next byte from its own
 * reply queue, then the keyboard (unless disabled), then the mouse (unless disabled).
 * IRQ1 follows OBF for keyboard/controller data when command byte INT is set, IRQ12
 * follows OBF for mouse data when INT2 is set (levels; the PIC sees edges).
 *
 * Leaves out: the keyboard lock (INH always reads "not inhibited"), password security,
 * parity/timeout errors (the virtual link has none), the AT-compatibility "mode" bit
 * (command byte bit 5 on AT controllers is treated as the PS/2 aux disable).
 */
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import { Ps2Keyboard } from './ps2-keyboard.js';
import { Ps2Mouse } from './ps2-mouse.js';
import { TRANSLATE_SET2_TO_SET1 } from './scancodes.js';
import { bool, int, ints, obj, version } from '../state-check.js';

/** Status: output buffer full. */
export const KBD_STAT_OBF = 0x01;
/** Status: input buffer full. */
export const KBD_STAT_IBF = 0x02;
/** Status: system flag (self-test passed). */
export const KBD_STAT_SELFTEST = 0x04;
/** Status: last write was a command (A2). */
export const KBD_STAT_CMD = 0x08;
/** Status: keyboard not inhibited. */
export const KBD_STAT_UNLOCKED = 0x10;
/** Status: output buffer holds mouse data. */
export const KBD_STAT_MOUSE_OBF = 0x20;

/** Command byte: keyboard interrupt enable. */
export const KBD_MODE_KBD_INT = 0x01;
/** Command byte: mouse interrupt enable. */
export const KBD_MODE_MOUSE_INT = 0x02;
/** Command byte: system flag. */
export const KBD_MODE_SYS = 0x04;
/** Command byte: ignore keyboard lock. */
export const KBD_MODE_NO_KEYLOCK = 0x08;
/** Command byte: disable keyboard interface. */
export const KBD_MODE_DISABLE_KBD = 0x10;
/** Command byte: disable mouse interface. */
export const KBD_MODE_DISABLE_MOUSE = 0x20;
/** Command byte: translate set 2 to set 1. */
export const KBD_MODE_KCC = 0x40;

/** Output port: system reset line (active low). */
export const KBD_OUT_RESET = 0x01;
/** Output port: A20 gate. */
export const KBD_OUT_A20 = 0x02;
/** Output port: keyboard output buffer full (IRQ1). */
export const KBD_OUT_OBF = 0x10;
/** Output port: mouse output buffer full (IRQ12). */
export const KBD_OUT_MOUSE_OBF = 0x20;
/** Output port bits that read as 1 (keyboard clock/data lines idle, reserved). */
const KBD_OUT_ONES = 0xcc;

/** Controller command: read the command byte (20-3F: controller RAM). */
export const KBD_CCMD_READ_MODE = 0x20;
/** Controller command: write the command byte (60-7F: controller RAM). */
export const KBD_CCMD_WRITE_MODE = 0x60;
/** Controller command: get controller version (ignored). */
export const KBD_CCMD_GET_VERSION = 0xa1;
/** Controller command: is a password installed (F1 = no). */
export const KBD_CCMD_PASSWORD_TEST = 0xa4;
/** Controller command: disable the aux interface. */
export const KBD_CCMD_MOUSE_DISABLE = 0xa7;
/** Controller command: enable the aux interface. */
export const KBD_CCMD_MOUSE_ENABLE = 0xa8;
/** Controller command: aux interface test (00 = OK). */
export const KBD_CCMD_TEST_MOUSE = 0xa9;
/** Controller command: controller self-test (55 = OK). */
export const KBD_CCMD_SELF_TEST = 0xaa;
/** Controller command: keyboard interface test (00 = OK). */
export const KBD_CCMD_KBD_TEST = 0xab;
/** Controller command: disable the keyboard interface. */
export const KBD_CCMD_KBD_DISABLE = 0xad;
/** Controller command: enable the keyboard interface. */
export const KBD_CCMD_KBD_ENABLE = 0xae;
/** Controller command: read the input port. */
export const KBD_CCMD_READ_INPORT = 0xc0;
/** Controller command: read the output port. */
export const KBD_CCMD_READ_OUTPORT = 0xd0;
/** Controller command: write the output port (next data byte). */
export const KBD_CCMD_WRITE_OUTPORT = 0xd1;
/** Controller command: write the keyboard output buffer (next data byte). */
export const KBD_CCMD_WRITE_OBUF = 0xd2;
/** Controller command: write the aux output buffer (next data byte). */
export const KBD_CCMD_WRITE_AUX_OBUF = 0xd3;
/** Controller command: send the next data byte to the aux device. */
export const KBD_CCMD_WRITE_MOUSE = 0xd4;
/** Controller command: disable A20 (HP Vectra extension). */
export const KBD_CCMD_DISABLE_A20 = 0xdd;
/** Controller command: enable A20 (HP Vectra extension). */
export const KBD_CCMD_ENABLE_A20 = 0xdf;
/** Controller command: read test inputs. */
export const KBD_CCMD_READ_TEST_INPUTS = 0xe0;
/** Controller command: pulse output port bits 0-3 (F0-FF; low bits 0 = pulse). */
export const KBD_CCMD_PULSE_BITS = 0xf0;

/** Where the byte in the output buffer came from. */
const SRC_NONE = 0;
const SRC_KBD = 1;
const SRC_AUX = 2;

/** Dependencies of I8042. */
export interface I8042Options {
  /** IRQ1. */
  irqKbd: IrqLine;
  /** IRQ12. */
  irqMouse: IrqLine;
  /** Called when the output port's A20 bit changes. */
  setA20: (enabled: boolean) => void;
  /** Called when the guest pulses or clears the reset line (e.g. command 0xFE). */
  reset: () => void;
  /** Optional observer of the keyboard LEDs (bit 0 Scroll, 1 Num, 2 Caps Lock). */
  onLeds?: (leds: number) => void;
  /** Optional logger for guest misuse (rate-limit there). */
  log?: (message: string) => void;
  /** Device id (default "i8042"). */
  id?: string;
}

/** The keyboard controller. Register `dataIo` at 0x60 and `commandIo` at 0x64 (length 1 each). */
export class I8042 implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The data port 0x60 (length 1). */
  readonly dataIo: IoHandler;
  /** The status/command port 0x64 (length 1). */
  readonly commandIo: IoHandler;
  /** The keyboard on the first port. */
  readonly keyboard: Ps2Keyboard;
  /** The mouse on the auxiliary port. */
  readonly mouse: Ps2Mouse;
  /** Commands the controller does not know. */
  unknownCommands = 0;
  private readonly ram = new Uint8Array(32);
  private status = KBD_STAT_CMD | KBD_STAT_UNLOCKED;
  private outport = KBD_OUT_RESET | KBD_OUT_A20 | KBD_OUT_ONES;
  private obData = 0;
  private obSrc = SRC_NONE;
  /** Controller replies: [byte, source] pairs waiting for the output buffer. */
  private ctrlQueue: Array<[number, number]> = [];
  private pendingCmd = 0;
  private breakPrefix = false;
  private filling = false;
  private irqKbdLevel = false;
  private irqMouseLevel = false;
  private readonly opts: I8042Options;

  constructor(opts: I8042Options) {
    this.opts = opts;
    this.id = opts.id ?? 'i8042';
    this.keyboard = new Ps2Keyboard(() => this.fill(), opts.onLeds, opts.log);
    this.mouse = new Ps2Mouse(() => this.fill(), opts.log);
    this.ram[0] = KBD_MODE_KBD_INT | KBD_MODE_MOUSE_INT;
    this.dataIo = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.readData(),
      write: (_offset: number, _size: AccessSize, value: number) => this.writeData(value & 0xff),
    };
    this.commandIo = {
      minSize: 1,
      maxSize: 1,
      read: (_offset: number, _size: AccessSize) => this.status,
      write: (_offset: number, _size: AccessSize, value: number) => this.writeCommand(value & 0xff),
    };
  }

  /** Host keyboard: key pressed (set-1 code, 0xE0xx for extended keys). */
  keyDown(code: number): void {
    this.keyboard.key(code, true);
  }

  /** Host keyboard: key released. */
  keyUp(code: number): void {
    this.keyboard.key(code, false);
  }

  /** Host mouse: relative motion (dy down-positive), buttons bit 0 L / 1 R / 2 M, wheel (negative = up). */
  mouseMove(dx: number, dy: number, buttons: number, wheel: number): void {
    this.mouse.move(dx, dy, buttons, wheel);
  }

  private get mode(): number {
    return this.ram[0]!;
  }

  /** Queues a controller reply as keyboard (or aux) data. */
  private reply(b: number, src = SRC_KBD): void {
    if (this.ctrlQueue.length >= 16) return; // a guest that never reads
    this.ctrlQueue.push([b & 0xff, src]);
    this.fill();
  }

  /** Loads the output buffer if it is empty and something is waiting. */
  private fill(): void {
    if (this.filling) return;
    this.filling = true;
    try {
      while ((this.status & KBD_STAT_OBF) === 0) {
        const c = this.ctrlQueue.shift();
        if (c !== undefined) {
          this.load(c[0], c[1]);
          break;
        }
        if (!(this.mode & KBD_MODE_DISABLE_KBD) && this.keyboard.pending > 0) {
          const b = this.keyboard.take()!;
          if (this.mode & KBD_MODE_KCC) {
            // Set 2 -> set 1: F0 (break prefix) sets bit 7 of the next code.
            if (b === 0xf0) { this.breakPrefix = true; continue; }
            const t = TRANSLATE_SET2_TO_SET1[b]! | (this.breakPrefix ? 0x80 : 0);
            this.breakPrefix = false;
            this.load(t, SRC_KBD);
          } else {
            this.load(b, SRC_KBD);
          }
          break;
        }
        if (!(this.mode & KBD_MODE_DISABLE_MOUSE) && this.mouse.pending > 0) {
          this.load(this.mouse.take()!, SRC_AUX);
          break;
        }
        break;
      }
    } finally {
      this.filling = false;
    }
    this.updateIrq();
  }

  private load(b: number, src: number): void {
    this.obData = b;
    this.obSrc = src;
    this.status |= KBD_STAT_OBF;
    if (src === SRC_AUX) this.status |= KBD_STAT_MOUSE_OBF;
    else this.status &= ~KBD_STAT_MOUSE_OBF;
  }

  private updateIrq(): void {
    const full = (this.status & KBD_STAT_OBF) !== 0;
    this.outport &= ~(KBD_OUT_OBF | KBD_OUT_MOUSE_OBF);
    if (full) this.outport |= this.obSrc === SRC_AUX ? KBD_OUT_MOUSE_OBF : KBD_OUT_OBF;
    const kbd = full && this.obSrc !== SRC_AUX && (this.mode & KBD_MODE_KBD_INT) !== 0;
    const aux = full && this.obSrc === SRC_AUX && (this.mode & KBD_MODE_MOUSE_INT) !== 0;
    if (kbd !== this.irqKbdLevel) { this.irqKbdLevel = kbd; this.opts.irqKbd.set(kbd); }
    if (aux !== this.irqMouseLevel) { this.irqMouseLevel = aux; this.opts.irqMouse.set(aux); }
  }

  private readData(): number {
    const v = this.obData; // with OBF clear this is the last byte again, as on QEMU
    this.status &= ~(KBD_STAT_OBF | KBD_STAT_MOUSE_OBF);
    this.obSrc = SRC_NONE;
    this.updateIrq();
    this.fill();
    return v;
  }

  private writeOutport(v: number): void {
    const old = this.outport;
    this.outport = v;
    if ((old ^ v) & KBD_OUT_A20) this.opts.setA20((v & KBD_OUT_A20) !== 0);
    if (!(v & KBD_OUT_RESET)) this.opts.reset();
  }

  private setMode(v: number): void {
    this.ram[0] = v;
    // The SYS bit of the command byte shows in the status register.
    this.status = (this.status & ~KBD_STAT_SELFTEST) | (v & KBD_MODE_SYS ? KBD_STAT_SELFTEST : 0);
    this.updateIrq();
    this.fill();
  }

  private writeCommand(cmd: number): void {
    this.status |= KBD_STAT_CMD;
    this.pendingCmd = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.reply(this.ram[cmd & 0x1f]!);
      return;
    }
    if ((cmd >= 0x60 && cmd <= 0x7f) || cmd === KBD_CCMD_WRITE_OUTPORT || cmd === KBD_CCMD_WRITE_OBUF ||
        cmd === KBD_CCMD_WRITE_AUX_OBUF || cmd === KBD_CCMD_WRITE_MOUSE) {
      this.pendingCmd = cmd;
      return;
    }
    if (cmd >= KBD_CCMD_PULSE_BITS) {
      // Pulse output port bits 0-3 low for 6 us; only bit 0 (reset) has an effect here.
      if (!(cmd & 0x01)) this.opts.reset();
      return;
    }
    switch (cmd) {
      case KBD_CCMD_GET_VERSION:
        return; // no version byte on IBM-compatible controllers (QEMU: ignored)
      case KBD_CCMD_PASSWORD_TEST:
        this.reply(0xf1); // no password installed
        return;
      case KBD_CCMD_MOUSE_DISABLE:
        this.setMode(this.mode | KBD_MODE_DISABLE_MOUSE);
        return;
      case KBD_CCMD_MOUSE_ENABLE:
        this.setMode(this.mode & ~KBD_MODE_DISABLE_MOUSE);
        return;
      case KBD_CCMD_TEST_MOUSE:
      case KBD_CCMD_KBD_TEST:
        this.reply(0x00); // interface OK
        return;
      case KBD_CCMD_SELF_TEST:
        this.status |= KBD_STAT_SELFTEST;
        this.reply(0x55);
        return;
      case KBD_CCMD_KBD_DISABLE:
        this.setMode(this.mode | KBD_MODE_DISABLE_KBD);
        return;
      case KBD_CCMD_KBD_ENABLE:
        this.setMode(this.mode & ~KBD_MODE_DISABLE_KBD);
        return;
      case KBD_CCMD_READ_INPORT:
        this.reply(0x80); // keyboard not inhibited, colour display
        return;
      case KBD_CCMD_READ_OUTPORT:
        this.reply(this.outport);
        return;
      case KBD_CCMD_DISABLE_A20:
        this.writeOutport(this.outport & ~KBD_OUT_A20);
        return;
      case KBD_CCMD_ENABLE_A20:
        this.writeOutport(this.outport | KBD_OUT_A20);
        return;
      case KBD_CCMD_READ_TEST_INPUTS:
        this.reply(0x00);
        return;
      default:
        this.unknownCommands++;
        this.opts.log?.(`${this.id}: unknown controller command 0x${cmd.toString(16)}`);
    }
  }

  private writeData(v: number): void {
    this.status &= ~KBD_STAT_CMD;
    const cmd = this.pendingCmd;
    this.pendingCmd = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      if (cmd === KBD_CCMD_WRITE_MODE) this.setMode(v);
      else this.ram[cmd & 0x1f] = v;
      return;
    }
    switch (cmd) {
      case KBD_CCMD_WRITE_OUTPORT:
        this.writeOutport(v);
        return;
      case KBD_CCMD_WRITE_OBUF:
        this.reply(v, SRC_KBD);
        return;
      case KBD_CCMD_WRITE_AUX_OBUF:
        this.reply(v, SRC_AUX);
        return;
      case KBD_CCMD_WRITE_MOUSE:
        this.mouse.write(v);
        return;
      default:
        // No command pending: the byte goes to the keyboard. Its replies wait while the
        // keyboard interface is disabled (QEMU behaves the same; firmware re-enables it).
        this.keyboard.write(v);
    }
  }

  /** @inheritdoc */
  reset(_kind: ResetKind): void {
    this.ram.fill(0);
    this.ram[0] = KBD_MODE_KBD_INT | KBD_MODE_MOUSE_INT;
    this.status = KBD_STAT_CMD | KBD_STAT_UNLOCKED;
    this.outport = KBD_OUT_RESET | KBD_OUT_A20 | KBD_OUT_ONES;
    this.obData = 0;
    this.obSrc = SRC_NONE;
    this.ctrlQueue = [];
    this.pendingCmd = 0;
    this.breakPrefix = false;
    this.unknownCommands = 0;
    this.keyboard.reset();
    this.mouse.reset();
    this.updateIrq();
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    return {
      v: 1,
      ram: Array.from(this.ram),
      status: this.status,
      outport: this.outport,
      obData: this.obData,
      obSrc: this.obSrc,
      ctrlQueue: this.ctrlQueue.map(([b, src]) => b | (src << 8)),
      pendingCmd: this.pendingCmd,
      breakPrefix: this.breakPrefix,
      irqKbd: this.irqKbdLevel,
      irqMouse: this.irqMouseLevel,
      keyboard: this.keyboard.save(),
      mouse: this.mouse.save(),
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const w = this.id;
    const ram = ints(w, s, 'ram', 0, 0xff, 32, 32);
    const status = int(w, s, 'status', 0, 0xff);
    const outport = int(w, s, 'outport', 0, 0xff);
    const obData = int(w, s, 'obData', 0, 0xff);
    const obSrc = int(w, s, 'obSrc', SRC_NONE, SRC_AUX);
    const ctrlQueue = ints(w, s, 'ctrlQueue', 0, 0x2ff, 0, 16);
    const pendingCmd = int(w, s, 'pendingCmd', 0, 0xff);
    const breakPrefix = bool(w, s, 'breakPrefix');
    const irqKbd = bool(w, s, 'irqKbd');
    const irqMouse = bool(w, s, 'irqMouse');
    const kbd = Ps2Keyboard.validate(`${w}.keyboard`, s.keyboard);
    const mouse = Ps2Mouse.validate(`${w}.mouse`, s.mouse);
    this.ram.set(ram);
    this.status = status;
    this.outport = outport;
    this.obData = obData;
    this.obSrc = obSrc;
    this.ctrlQueue = ctrlQueue.map((x) => [x & 0xff, x >> 8] as [number, number]);
    this.pendingCmd = pendingCmd;
    this.breakPrefix = breakPrefix;
    this.keyboard.apply(kbd);
    this.mouse.apply(mouse);
    this.irqKbdLevel = irqKbd;
    this.irqMouseLevel = irqMouse;
    this.opts.irqKbd.set(irqKbd);
    this.opts.irqMouse.set(irqMouse);
  }
}
