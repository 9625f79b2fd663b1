/**
 * PS/2 keyboard (IBM Enhanced/MF2 keyboard on the 8042's first port). Generates scan
 * code set 2 internally (set 1 when the guest selects it with F0 01); the 8042 translates
 * to set 1 when its command byte asks for it.
 *
 * Follows: IBM PS/2 Hardware Interface Technical Reference, "Keyboard" chapter, commands
 * ED set LEDs, EE echo, F0 select scan code set (0 = report), F2 read ID (AB 83), F3 set
 * typematic rate/delay, F4 enable, F5 default disable, F6 set default, FE resend,
 * FF reset (ACK, then BAT completion AA); unknown commands answer FE (resend), like QEMU
 * hw/input/ps2.c.
 * Leaves out: typematic repeat (the host sends repeated key-downs itself), scan code set
 * 3's per-key modes (F7-FD are acknowledged and ignored; set 3 sends set 2 codes), the
 * "keyboard buffer overrun" code (input that does not fit is dropped and counted).
 */
import { isValidKeyCode, set1Bytes, set2Bytes } from './scancodes.js';
import { Ps2Queue } from './ps2-queue.js';
import { bool, int, ints, obj } from '../state-check.js';

/** Command: set LEDs. */
export const KBD_CMD_SET_LEDS = 0xed;
/** Command: echo. */
export const KBD_CMD_ECHO = 0xee;
/** Command: get/set scan code set. */
export const KBD_CMD_SCANCODE = 0xf0;
/** Command: read ID. */
export const KBD_CMD_GET_ID = 0xf2;
/** Command: set typematic rate and delay. */
export const KBD_CMD_SET_RATE = 0xf3;
/** Command: enable scanning. */
export const KBD_CMD_ENABLE = 0xf4;
/** Command: set defaults and disable scanning. */
export const KBD_CMD_RESET_DISABLE = 0xf5;
/** Command: set defaults and enable scanning. */
export const KBD_CMD_RESET_ENABLE = 0xf6;
/** Command: resend the last byte. */
export const KBD_CMD_RESEND = 0xfe;
/** Command: reset and self-test. */
export const KBD_CMD_RESET = 0xff;
/** Reply: acknowledge. */
export const KBD_REPLY_ACK = 0xfa;
/** Reply: basic assurance test passed. */
export const KBD_REPLY_POR = 0xaa;
/** Reply: resend (command not understood). */
export const KBD_REPLY_RESEND = 0xfe;
/** Reply: echo. */
export const KBD_REPLY_ECHO = 0xee;

const QUEUE_BYTES = 256;

/** Named fields of the keyboard's state. */
export interface Ps2KeyboardState {
  replies: number[];
  data: number[];
  scanSet: number;
  scanning: boolean;
  leds: number;
  typematic: number;
  pendingCmd: number;
  lastByte: number;
}

/** The keyboard. Owned by the I8042, which pulls its bytes. */
export class Ps2Keyboard {
  /** Input bytes dropped because the keyboard's buffer was full. */
  dropped = 0;
  private readonly q = new Ps2Queue(QUEUE_BYTES);
  private scanSet = 2;
  private scanning = true;
  private leds = 0;
  private typematic = 0x2b;
  /** A command waiting for its argument byte, or 0. */
  private pendingCmd = 0;
  private lastByte = 0;

  /**
   * @param notify called when bytes become available
   * @param onLeds optional observer of the LED state (bit 0 Scroll, 1 Num, 2 Caps Lock)
   * @param log optional logger for guest misuse
   */
  constructor(
    private readonly notify: () => void,
    private readonly onLeds?: (leds: number) => void,
    private readonly log?: (message: string) => void,
  ) {}

  /** Bytes waiting for the controller. */
  get pending(): number {
    return this.q.length;
  }

  /** Current LED bits. */
  get ledState(): number {
    return this.leds;
  }

  /** Current scan code set (1, 2 or 3). */
  get scanCodeSet(): number {
    return this.scanSet;
  }

  /** The controller takes the next byte. */
  take(): number | undefined {
    const b = this.q.shift();
    if (b !== undefined) this.lastByte = b;
    return b;
  }

  /** Host key event with a set-1 style code (0xE0xx for extended keys). Throws on a code no key has. */
  key(code: number, down: boolean): void {
    if (!isValidKeyCode(code)) throw new RangeError(`ps2-keyboard: 0x${code.toString(16)} is not a PC scan code`);
    if (!this.scanning) return;
    const bytes = this.scanSet === 1 ? set1Bytes(code, down) : set2Bytes(code, down);
    if (bytes.length === 0) return;
    if (!this.q.push(bytes)) {
      this.dropped += bytes.length;
      return;
    }
    this.notify();
  }

  private setDefaults(): void {
    this.scanSet = 2;
    this.typematic = 0x2b;
    this.setLeds(0);
  }

  private setLeds(v: number): void {
    const leds = v & 7;
    if (leds !== this.leds) {
      this.leds = leds;
      this.onLeds?.(leds);
    }
  }

  /** A byte from the controller (a command or a command's argument). */
  write(b: number): void {
    const pending = this.pendingCmd;
    this.pendingCmd = 0;
    if (pending !== 0) {
      this.argument(pending, b);
      this.notify();
      return;
    }
    switch (b) {
      case KBD_CMD_SET_LEDS:
      case KBD_CMD_SET_RATE:
        this.q.reply(KBD_REPLY_ACK);
        this.pendingCmd = b;
        break;
      case KBD_CMD_SCANCODE:
        this.q.reply(KBD_REPLY_ACK);
        this.pendingCmd = b;
        break;
      case KBD_CMD_ECHO:
        this.q.reply(KBD_REPLY_ECHO);
        break;
      case KBD_CMD_GET_ID:
        this.q.reply(KBD_REPLY_ACK, 0xab, 0x83);
        break;
      case KBD_CMD_ENABLE:
        this.q.clearData();
        this.scanning = true;
        this.q.reply(KBD_REPLY_ACK);
        break;
      case KBD_CMD_RESET_DISABLE:
        this.setDefaults();
        this.q.clearData();
        this.scanning = false;
        this.q.reply(KBD_REPLY_ACK);
        break;
      case KBD_CMD_RESET_ENABLE:
        this.setDefaults();
        this.q.clearData();
        this.scanning = true;
        this.q.reply(KBD_REPLY_ACK);
        break;
      case KBD_CMD_RESEND:
        this.q.reply(this.lastByte);
        break;
      case KBD_CMD_RESET:
        this.setDefaults();
        this.q.clear();
        this.scanning = true;
        this.q.reply(KBD_REPLY_ACK, KBD_REPLY_POR);
        break;
      default:
        if (b >= 0xf7 && b <= 0xfd) {
          this.q.reply(KBD_REPLY_ACK); // set 3 key-type commands: accepted, no effect
        } else {
          this.log?.(`ps2-keyboard: unknown command 0x${b.toString(16)}`);
          this.q.reply(KBD_REPLY_RESEND);
        }
    }
    this.notify();
  }

  private argument(cmd: number, b: number): void {
    switch (cmd) {
      case KBD_CMD_SET_LEDS:
        this.setLeds(b);
        this.q.reply(KBD_REPLY_ACK);
        return;
      case KBD_CMD_SET_RATE:
        this.typematic = b & 0x7f;
        this.q.reply(KBD_REPLY_ACK);
        return;
      default: // KBD_CMD_SCANCODE
        if (b === 0) {
          this.q.reply(KBD_REPLY_ACK, this.scanSet);
        } else if (b >= 1 && b <= 3) {
          if (b === 3) this.log?.('ps2-keyboard: scan code set 3 selected; sending set 2 codes');
          this.scanSet = b;
          this.q.reply(KBD_REPLY_ACK);
        } else {
          this.log?.(`ps2-keyboard: bad scan code set ${b}`);
          this.q.reply(KBD_REPLY_RESEND);
        }
    }
  }

  /** Power-on state: set 2, scanning, LEDs off, buffer empty. */
  reset(): void {
    this.q.clear();
    this.scanning = true;
    this.pendingCmd = 0;
    this.lastByte = 0;
    this.dropped = 0;
    this.setDefaults();
  }

  /** Plain state. */
  save(): Ps2KeyboardState {
    return {
      ...this.q.save(), scanSet: this.scanSet, scanning: this.scanning, leds: this.leds,
      typematic: this.typematic, pendingCmd: this.pendingCmd, lastByte: this.lastByte,
    };
  }

  /** Validates untrusted data. */
  static validate(where: string, raw: unknown): Ps2KeyboardState {
    const s = obj(where, raw);
    return {
      replies: ints(where, s, 'replies', 0, 0xff, 0, 64), data: ints(where, s, 'data', 0, 0xff, 0, QUEUE_BYTES),
      scanSet: int(where, s, 'scanSet', 1, 3), scanning: bool(where, s, 'scanning'), leds: int(where, s, 'leds', 0, 7),
      typematic: int(where, s, 'typematic', 0, 0x7f), pendingCmd: int(where, s, 'pendingCmd', 0, 0xff),
      lastByte: int(where, s, 'lastByte', 0, 0xff),
    };
  }

  /** Applies validated state. */
  apply(s: Ps2KeyboardState): void {
    this.q.load(s);
    this.scanSet = s.scanSet;
    this.scanning = s.scanning;
    this.leds = s.leds;
    this.typematic = s.typematic;
    this.pendingCmd = s.pendingCmd;
    this.lastByte = s.lastByte;
  }
}
