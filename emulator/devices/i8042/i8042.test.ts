import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { I8042 } from './i8042.js';
import { FakeIrqLine, inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip } from '../../test-support/device-harness.js';

function setup() {
  const irqKbd = new FakeIrqLine();
  const irqMouse = new FakeIrqLine();
  const a20: boolean[] = [];
  const leds: number[] = [];
  let resets = 0;
  const kbc = new I8042({
    irqKbd, irqMouse, setA20: (e) => a20.push(e), reset: () => { resets++; }, onLeds: (l) => leds.push(l),
  });
  const cmd = (c: number, arg?: number) => { outb(kbc.commandIo, 0, c); if (arg !== undefined) outb(kbc.dataIo, 0, arg); };
  const data = (b: number) => outb(kbc.dataIo, 0, b);
  const status = () => inb(kbc.commandIo, 0);
  /** Reads everything the controller has, with the source of each byte. */
  const drain = () => {
    const out: number[] = [];
    while (status() & 1) out.push(inb(kbc.dataIo, 0));
    return out;
  };
  return { kbc, irqKbd, irqMouse, a20, leds, resets: () => resets, cmd, data, status, drain };
}

describe('I8042 controller', () => {
  it('self-test answers 0x55 and sets SYS; interface tests answer 0', () => {
    const t = setup();
    expect(t.status() & 0x04).toBe(0);
    t.cmd(0xaa);
    expect(t.status() & 0x05).toBe(0x05);
    expect(t.drain()).toEqual([0x55]);
    t.cmd(0xab); t.cmd(0xa9);
    expect(t.drain()).toEqual([0x00, 0x00]);
  });

  it('queues controller replies behind a full output buffer', () => {
    const t = setup();
    t.cmd(0xab);
    t.cmd(0xa9);
    expect(inb(t.kbc.dataIo, 0)).toBe(0x00);
    expect(t.status() & 1).toBe(1);
    expect(inb(t.kbc.dataIo, 0)).toBe(0x00);
    expect(t.status() & 1).toBe(0);
  });

  it('reads and writes the command byte and controller RAM; A2 tracks the last port', () => {
    const t = setup();
    t.cmd(0x20);
    expect(t.drain()).toEqual([0x03]);
    t.cmd(0x60, 0x47);
    expect(t.status() & 0x08).toBe(0);
    t.cmd(0x20);
    expect(t.status() & 0x08).toBe(0x08);
    expect(t.drain()).toEqual([0x47]);
    t.cmd(0x65, 0x99);
    t.cmd(0x25);
    expect(t.drain()).toEqual([0x99]);
  });

  it('output port: A20 and reset through callbacks; FE pulses reset', () => {
    const t = setup();
    t.cmd(0xd0);
    expect(t.drain()).toEqual([0xcf]);
    t.cmd(0xd1, 0xcd); // A20 off, reset line high
    expect(t.a20).toEqual([false]);
    t.cmd(0xdf);
    t.cmd(0xdd);
    expect(t.a20).toEqual([false, true, false]);
    expect(t.resets()).toBe(0);
    t.cmd(0xfe);
    expect(t.resets()).toBe(1);
    t.cmd(0xff); // pulse nothing
    t.cmd(0xd1, 0xce); // reset line low
    expect(t.resets()).toBe(2);
  });

  it('D2/D3 write the keyboard / aux output buffer with the matching IRQ', () => {
    const t = setup();
    t.cmd(0xd2, 0x12);
    expect(t.irqKbd.level).toBe(true);
    expect(t.drain()).toEqual([0x12]);
    expect(t.irqKbd.level).toBe(false);
    t.cmd(0xd3, 0x34);
    expect(t.status() & 0x21).toBe(0x21);
    expect(t.irqMouse.level).toBe(true);
    expect(t.drain()).toEqual([0x34]);
    expect(t.irqMouse.level).toBe(false);
    t.cmd(0x60, 0x00); // interrupts off
    t.cmd(0xd2, 0x56);
    expect(t.irqKbd.level).toBe(false);
    expect(t.status() & 1).toBe(1);
  });

  it('counts unknown commands without throwing', () => {
    const t = setup();
    t.cmd(0x05);
    expect(t.kbc.unknownCommands).toBe(1);
  });
});

describe('PS/2 keyboard behind the 8042', () => {
  it('reset answers FA AA; identify is AB 83, or AB 41 translated', () => {
    const t = setup();
    t.data(0xff);
    expect(t.drain()).toEqual([0xfa, 0xaa]);
    t.data(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x83]);
    t.cmd(0x60, 0x43); // translation on
    t.data(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x41]);
  });

  it('keys come out in set 2, or set 1 when the controller translates', () => {
    const t = setup();
    t.kbc.keyDown(0x1e); t.kbc.keyUp(0x1e); // A
    t.kbc.keyDown(0xe01d); t.kbc.keyUp(0xe01d); // right Ctrl
    t.kbc.keyDown(0x41); // F7
    expect(t.drain()).toEqual([0x1c, 0xf0, 0x1c, 0xe0, 0x14, 0xe0, 0xf0, 0x14, 0x83]);
    t.cmd(0x60, 0x43);
    t.kbc.keyDown(0x1e); t.kbc.keyUp(0x1e);
    t.kbc.keyDown(0xe01d); t.kbc.keyUp(0xe01d);
    t.kbc.keyDown(0x41);
    expect(t.drain()).toEqual([0x1e, 0x9e, 0xe0, 0x1d, 0xe0, 0x9d, 0x41]);
  });

  it('Print Screen and Pause have their irregular sequences', () => {
    const t = setup();
    t.cmd(0x60, 0x43);
    t.kbc.keyDown(0xe037); t.kbc.keyUp(0xe037);
    t.kbc.keyDown(0xe046); t.kbc.keyUp(0xe046);
    expect(t.drain()).toEqual([0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
  });

  it('throws on a host code no key has (host bug)', () => {
    const t = setup();
    expect(() => t.kbc.keyDown(0x1234)).toThrow();
    expect(() => t.kbc.keyDown(0)).toThrow();
  });

  it('IRQ1 gives one edge per byte', () => {
    const t = setup();
    t.kbc.keyDown(0x1e);
    t.kbc.keyUp(0x1e);
    expect(t.irqKbd.rising).toBe(1);
    inb(t.kbc.dataIo, 0);
    expect(t.irqKbd.rising).toBe(2);
    inb(t.kbc.dataIo, 0);
    inb(t.kbc.dataIo, 0);
    expect(t.irqKbd.rising).toBe(3);
    expect(t.irqKbd.level).toBe(false);
  });

  it('LEDs, echo, typematic, scan code set selection', () => {
    const t = setup();
    t.data(0xed); t.data(0x07);
    t.data(0xee);
    t.data(0xf3); t.data(0x20);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xee, 0xfa, 0xfa]);
    expect(t.leds).toEqual([7]);
    t.data(0xf0); t.data(0x00);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0x02]);
    t.data(0xf0); t.data(0x01);
    t.drain();
    t.kbc.keyDown(0x1e); t.kbc.keyUp(0x1e);
    expect(t.drain()).toEqual([0x1e, 0x9e]);
    t.data(0xf0); t.data(0x07);
    expect(t.drain()).toEqual([0xfa, 0xfe]);
    t.data(0x01);
    expect(t.drain()).toEqual([0xfe]);
  });

  it('F5 disables scanning, F4 enables it; AD/AE hold data in the keyboard', () => {
    const t = setup();
    t.data(0xf5);
    t.kbc.keyDown(0x1e);
    expect(t.drain()).toEqual([0xfa]);
    t.data(0xf4);
    t.drain();
    t.cmd(0xad);
    t.kbc.keyDown(0x1e);
    expect(t.drain()).toEqual([]);
    t.cmd(0xae);
    expect(t.drain()).toEqual([0x1c]);
  });
});

describe('PS/2 mouse behind the 8042', () => {
  const mouseCmd = (t: ReturnType<typeof setup>, ...bytes: number[]) => { for (const b of bytes) t.cmd(0xd4, b); };

  it('reset and identify; reporting off until F4', () => {
    const t = setup();
    mouseCmd(t, 0xff);
    expect(t.drain()).toEqual([0xfa, 0xaa, 0x00]);
    t.kbc.mouseMove(5, 5, 0, 0);
    mouseCmd(t, 0xf2);
    expect(t.drain()).toEqual([0xfa, 0x00]);
    expect(t.irqMouse.rising).toBeGreaterThan(0);
  });

  it('stream packets: buttons, signs, Y up, overflow', () => {
    const t = setup();
    mouseCmd(t, 0xf4);
    t.drain();
    t.kbc.mouseMove(10, 5, 1, 0);
    expect(t.drain()).toEqual([0x29, 10, 0xfb]); // L, Y negative (down on screen)
    t.kbc.mouseMove(-3, -300, 0, 0);
    expect(t.drain()).toEqual([0x08 | 0x10 | 0x80, 0xfd, 0xff]); // Y overflow, clamped to 255
  });

  it('IntelliMouse: 200/100/80 gives ID 3 and 4-byte packets with the wheel', () => {
    const t = setup();
    mouseCmd(t, 0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    mouseCmd(t, 0xf4);
    t.drain();
    t.kbc.mouseMove(0, 0, 0, -1);
    expect(t.drain()).toEqual([0x08, 0, 0, 0xff]);
  });

  it('status request, remote mode poll, 2:1 scaling, wrap mode', () => {
    const t = setup();
    mouseCmd(t, 0xe8, 3, 0xe7, 0xe9);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x10, 3, 100]);
    mouseCmd(t, 0xf0);
    t.drain();
    t.kbc.mouseMove(4, 0, 0, 0);
    expect(t.drain()).toEqual([]);
    mouseCmd(t, 0xeb);
    expect(t.drain()).toEqual([0xfa, 0x08, 6, 0]); // 4 -> 6 with 2:1 scaling
    mouseCmd(t, 0xee, 0x12, 0xec);
    expect(t.drain()).toEqual([0xfa, 0x12, 0xfa]);
  });

  it('packets wait while the aux interface is disabled', () => {
    const t = setup();
    mouseCmd(t, 0xf4);
    t.drain();
    t.cmd(0xa7);
    t.kbc.mouseMove(1, 0, 0, 0);
    expect(t.drain()).toEqual([]);
    t.cmd(0xa8);
    expect(t.drain()).toEqual([0x08, 1, 0]);
  });

  it('bad arguments are answered with FE, never thrown', () => {
    const t = setup();
    mouseCmd(t, 0xe8, 9, 0xf3, 0, 0x42);
    expect(t.drain()).toEqual([0xfa, 0xfe, 0xfa, 0xfe, 0xfe]);
  });
});

describe('I8042 robustness and state', () => {
  const opArb = fc.oneof(
    accessArb(2, 1).map((a) => ({ kind: 'io' as const, a })),
    fc.record({ kind: fc.constant('key' as const), code: fc.constantFrom(0x1e, 0x2a, 0xe01d, 0xe037, 0xe046, 0x41), down: fc.boolean() }),
    fc.record({ kind: fc.constant('mouse' as const), dx: fc.integer({ min: -600, max: 600 }), dy: fc.integer({ min: -600, max: 600 }), b: fc.nat(7), w: fc.integer({ min: -3, max: 3 }) }),
  );

  it('random port accesses and host events never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 100 }), (ops) => {
      const t = setup();
      for (const op of ops) {
        if (op.kind === 'io') {
          const h = op.a.handler === 0 ? t.kbc.dataIo : t.kbc.commandIo;
          if (op.a.write) h.write(0, 1, op.a.value & 0xff); else h.read(0, 1);
        } else if (op.kind === 'key') {
          if (op.down) t.kbc.keyDown(op.code); else t.kbc.keyUp(op.code);
        } else {
          t.kbc.mouseMove(op.dx, op.dy, op.b, op.w);
        }
      }
      const copy = setup();
      expectRoundTrip(t.kbc, copy.kbc);
      expect(copy.drain()).toEqual(t.drain());
    }), { numRuns: 150 });
  });

  it('rejects bad state untouched', () => {
    const t = setup();
    const good = JSON.stringify(t.kbc.saveState());
    const bad = { ...t.kbc.saveState(), mouse: { ...(t.kbc.saveState().mouse as object), deviceId: 2 } };
    expect(() => t.kbc.loadState(bad)).toThrow(/deviceId/);
    expect(JSON.stringify(t.kbc.saveState())).toBe(good);
  });
});
