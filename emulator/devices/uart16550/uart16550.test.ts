import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Uart16550 } from './uart16550.js';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine, inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

const THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function setup(maxQueuedBytes?: number) {
  const clock = new VirtualClock();
  const irq = new FakeIrqLine();
  const out: number[] = [];
  let drained = 0;
  const uart = new Uart16550({ irq, clock, scheduler: clock, sink: (b) => out.push(b), maxQueuedBytes, onRxDrained: () => { drained++; } });
  return { clock, irq, uart, out, drained: () => drained };
}

describe('Uart16550', () => {
  it('resets to THR empty, no interrupt, OUT2 set, modem inputs ready', () => {
    const { uart } = setup();
    expect(inb(uart.io, LSR)).toBe(0x60);
    expect(inb(uart.io, IIR)).toBe(0x01);
    expect(inb(uart.io, MCR)).toBe(0x08);
    expect(inb(uart.io, MSR)).toBe(0xb0);
  });

  it('transmits instantly to the sink', () => {
    const { uart, out } = setup();
    for (const c of 'ok') outb(uart.io, THR, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('ok');
    expect(inb(uart.io, LSR) & 0x60).toBe(0x60);
  });

  it('divisor latch shares offsets 0 and 1 with DLAB', () => {
    const { uart, out } = setup();
    outb(uart.io, LCR, 0x83);
    outb(uart.io, THR, 0x01);
    outb(uart.io, IER, 0x00);
    expect(inb(uart.io, THR)).toBe(0x01);
    expect(inb(uart.io, IER)).toBe(0x00);
    outb(uart.io, LCR, 0x03);
    expect(inb(uart.io, IER)).toBe(0x00);
    expect(out).toEqual([]);
    outb(uart.io, SCR, 0x5a);
    expect(inb(uart.io, SCR)).toBe(0x5a);
  });

  it('THRE interrupt: raised on enable, cleared by reading IIR, raised again by a write', () => {
    const { uart, irq } = setup();
    outb(uart.io, IER, 0x02);
    expect(irq.level).toBe(true);
    expect(inb(uart.io, IIR)).toBe(0x02);
    expect(irq.level).toBe(false);
    expect(inb(uart.io, IIR)).toBe(0x01);
    outb(uart.io, THR, 0x41);
    expect(irq.level).toBe(true);
    outb(uart.io, IER, 0x00);
    expect(irq.level).toBe(false);
  });

  it("passes Linux 8250's UART_BUG_THRE probe (THRE reasserted on IER re-enable)", () => {
    const { uart } = setup();
    outb(uart.io, IER, 0x02);
    const iir1 = inb(uart.io, IIR);
    outb(uart.io, IER, 0x00);
    outb(uart.io, IER, 0x02);
    const iir = inb(uart.io, IIR);
    outb(uart.io, IER, 0x00);
    expect(iir1 & 1).toBe(0);
    expect(iir & 1).toBe(0);
    // And the 16550A FIFO probe: FCR 0xE7 shows 0xC0 in IIR.
    outb(uart.io, FCR, 0xe7);
    expect(inb(uart.io, IIR) & 0xe0).toBe(0xc0);
  });

  it('receives without FIFO one byte at a time, draining the host queue', () => {
    const t = setup();
    const { uart, irq } = t;
    outb(uart.io, IER, 0x01);
    expect(uart.receive([0x61, 0x62, 0x63])).toBe(3);
    expect(irq.level).toBe(true);
    expect(inb(uart.io, IIR)).toBe(0x04);
    const got: number[] = [];
    while (inb(uart.io, LSR) & 1) got.push(inb(uart.io, THR));
    expect(got).toEqual([0x61, 0x62, 0x63]);
    expect(irq.level).toBe(false);
    expect(t.drained()).toBe(1);
  });

  it('FIFO trigger level and character timeout', () => {
    const { uart, irq, clock } = setup();
    outb(uart.io, FCR, 0xc7); // enable, clear, trigger 14
    outb(uart.io, IER, 0x01);
    expect(inb(uart.io, IIR)).toBe(0xc1);
    uart.receive([1, 2, 3]);
    expect(irq.level).toBe(false);
    clock.step(10_000_000); // far beyond 4 character times at 9600 baud
    expect(irq.level).toBe(true);
    expect(inb(uart.io, IIR)).toBe(0xcc);
    expect(inb(uart.io, THR)).toBe(1);
    expect(irq.level).toBe(false); // reading clears the timeout
    uart.receive(Array.from({ length: 30 }, (_, i) => i));
    expect(inb(uart.io, IIR)).toBe(0xc4); // 16 in the FIFO >= 14
    expect(uart.queuedBytes).toBe(30 - 14);
  });

  it('hands host bytes to the guest once when the drained callback re-enters receive (as PcMachine pumps)', () => {
    const clock = new VirtualClock();
    const pending: number[] = [];
    // PcMachine's pump: offer everything pending, drop what was taken; onRxDrained pumps again.
    const pump = (): void => {
      if (pending.length === 0) return;
      const taken = uart.receive(pending);
      pending.splice(0, taken);
    };
    const uart: Uart16550 = new Uart16550({ irq: new FakeIrqLine(), clock, scheduler: clock, sink: () => {}, maxQueuedBytes: 4, onRxDrained: pump });
    outb(uart.io, FCR, 0x07); // FIFO on: the whole queue moves into the FIFO at once
    pending.push(0x68, 0x69, 0x0d, 0x0a);
    pump();
    expect(pending).toEqual([]);
    const got: number[] = [];
    while (inb(uart.io, LSR) & 1) got.push(inb(uart.io, THR));
    expect(got).toEqual([0x68, 0x69, 0x0d, 0x0a]);
    // More than the queue holds while the FIFO has room: taken in one call, nothing twice.
    pending.push(...Array.from({ length: 20 }, (_, i) => i));
    pump();
    while (inb(uart.io, LSR) & 1) got.push(inb(uart.io, THR));
    expect(got.slice(4)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(pending).toEqual([]);
  });

  it('backpressure: the host queue is bounded', () => {
    const { uart } = setup(4);
    expect(uart.receive([1, 2, 3, 4, 5, 6])).toBe(4);
    expect(uart.queuedBytes).toBe(3); // one went straight into RBR
    expect(uart.receive([5, 6])).toBe(1);
    expect(uart.receive([6])).toBe(0);
    expect(inb(uart.io, THR)).toBe(1);
    expect(uart.receive([6, 7])).toBe(1);
    const got: number[] = [];
    while (inb(uart.io, LSR) & 1) got.push(inb(uart.io, THR));
    expect(got).toEqual([2, 3, 4, 5, 6]);
  });

  it('loopback: TX to RX, modem outputs to inputs, overrun is a line-status interrupt', () => {
    const { uart, out, irq } = setup();
    outb(uart.io, MCR, 0x1a); // the 8250 driver's loopback probe
    expect(inb(uart.io, MSR) & 0xf0).toBe(0x90);
    outb(uart.io, IER, 0x05);
    outb(uart.io, THR, 0x11);
    outb(uart.io, THR, 0x22); // RBR holds one byte without FIFO: overrun
    expect(out).toEqual([]);
    expect(irq.level).toBe(true);
    expect(inb(uart.io, IIR)).toBe(0x06); // line status beats data available
    expect(inb(uart.io, LSR) & 0x03).toBe(0x03);
    expect(inb(uart.io, IIR)).toBe(0x04);
    expect(inb(uart.io, THR)).toBe(0x11);
    expect(uart.overruns).toBe(1);
  });

  it('modem status interrupt on loopback output changes', () => {
    const { uart, irq } = setup();
    outb(uart.io, MCR, 0x10);
    inb(uart.io, MSR);
    outb(uart.io, IER, 0x08);
    outb(uart.io, MCR, 0x15); // DTR + OUT1 -> DSR + RI
    expect(irq.level).toBe(true);
    expect(inb(uart.io, IIR)).toBe(0x00);
    expect(inb(uart.io, MSR)).toBe(0x62);
    outb(uart.io, MCR, 0x11); // RI falls: trailing edge
    expect(inb(uart.io, MSR) & 0x04).toBe(0x04);
    expect(irq.level).toBe(false);
  });

  it('host input waits while in loopback, then flows', () => {
    const { uart } = setup();
    outb(uart.io, MCR, 0x10);
    uart.receive([9]);
    expect(inb(uart.io, LSR) & 1).toBe(0);
    outb(uart.io, MCR, 0x0b);
    expect(inb(uart.io, THR)).toBe(9);
  });

  it('random accesses with time steps never throw; state round-trips', () => {
    fc.assert(fc.property(
      fc.array(accessArb(1, 8, 3_000_000), { maxLength: 80 }),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
      (seq, input) => {
        const { uart, clock } = setup();
        uart.receive(input);
        for (const a of seq) {
          replay([{ h: uart.io, span: 8 }], [a], (ns) => clock.step(ns));
          // Invariants: DR mirrors a non-empty receiver; the FIFO never holds more than 16 bytes.
          const st = uart.saveState() as unknown as { lsr: number; rxFifo: number[]; queue: number[] };
          expect((st.lsr & 1) === 1).toBe(st.rxFifo.length > 0);
          expect(st.rxFifo.length).toBeLessThanOrEqual(16);
        }
        const copy = new Uart16550({ irq: new FakeIrqLine(), clock, scheduler: clock, sink: () => {} });
        expectRoundTrip(uart, copy);
        const lsr = inb(uart.io, LSR);
        expect(inb(copy.io, LSR)).toBe(lsr);
      }), { numRuns: 120 });
  });

  it('rejects bad state untouched', () => {
    const { uart } = setup();
    const good = JSON.stringify(uart.saveState());
    expect(() => uart.loadState({ ...uart.saveState(), rxFifo: new Array(17).fill(0) })).toThrow(/rxFifo/);
    expect(JSON.stringify(uart.saveState())).toBe(good);
  });
});
