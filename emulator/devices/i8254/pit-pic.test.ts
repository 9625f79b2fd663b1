/** Cross-check: PIT counter 0 through the PIC to the CPU's INTA cycle, on virtual time. */
import { describe, expect, it } from 'vitest';
import { I8254 } from './i8254.js';
import { I8259 } from '../i8259/i8259.js';
import { VirtualClock } from '../../time/clock.js';
import { outb } from '../../test-support/fakes.js';

describe('I8254 -> I8259', () => {
  it('a 1 kHz rate generator delivers one IRQ0 vector per millisecond', () => {
    const clock = new VirtualClock();
    const pic = new I8259();
    const pit = new I8254({ irq: pic.irq(0), clock, scheduler: clock });
    outb(pic.masterIo, 0, 0x11); outb(pic.masterIo, 1, 0x20); outb(pic.masterIo, 1, 0x04); outb(pic.masterIo, 1, 0x01);
    outb(pic.masterIo, 1, 0xfe); // only IRQ0
    outb(pit.io, 3, 0x34);
    outb(pit.io, 0, 1193 & 0xff);
    outb(pit.io, 0, 1193 >> 8);
    let delivered = 0;
    for (let ms = 0; ms < 20; ms++) {
      clock.step(1_000_000);
      while (pic.hasInterrupt()) {
        expect(pic.acknowledge()).toBe(0x20);
        outb(pic.masterIo, 0, 0x20);
        delivered++;
      }
    }
    expect(delivered).toBe(20);
  });
});
