import { describe, expect, it } from 'vitest';
import * as a from './aml.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (s: string): string => s.trim().toLowerCase().split(/\s+/).join(' ');

describe('AML names (ACPI 6.5 20.2.2)', () => {
  it('pads NameSegs with underscores', () => {
    expect(hex(a.nameSeg('_SB'))).toBe(bytes('5f 53 42 5f'));
    expect(hex(a.nameSeg('A'))).toBe(bytes('41 5f 5f 5f'));
  });
  it('rejects bad NameSegs', () => {
    expect(() => a.nameSeg('1ABC')).toThrow();
    expect(() => a.nameSeg('ABCDE')).toThrow();
    expect(() => a.nameSeg('ab')).toThrow();
  });
  it('encodes root, parent, dual and multi name paths', () => {
    expect(hex(a.nameString('\\'))).toBe('5c 00');
    expect(hex(a.nameString('\\_SB'))).toBe(bytes('5c 5f 53 42 5f'));
    expect(hex(a.nameString('\\_SB.PCI0'))).toBe(bytes('5c 2e 5f 53 42 5f 50 43 49 30'));
    expect(hex(a.nameString('\\_SB.PCI0.ISA'))).toBe(bytes('5c 2f 03 5f 53 42 5f 50 43 49 30 49 53 41 5f'));
    expect(hex(a.nameString('^^LNKA'))).toBe(bytes('5e 5e 4c 4e 4b 41'));
    expect(hex(a.nameString('^PCI0.ISA'))).toBe(bytes('5e 2e 50 43 49 30 49 53 41 5f'));
  });
});

describe('PkgLength (20.2.4)', () => {
  it('uses one byte up to 63 in total', () => {
    expect(hex(a.pkgLength(0))).toBe('01');
    expect(hex(a.pkgLength(62))).toBe('3f');
  });
  it('uses 2, 3 and 4 bytes with the low nibble first', () => {
    expect(hex(a.pkgLength(63))).toBe('41 04'); // 65 = 0x041
    expect(hex(a.pkgLength(4093))).toBe('4f ff'); // 4095
    expect(hex(a.pkgLength(4094))).toBe('81 00 01'); // 4097 = 0x1001
    expect(hex(a.pkgLength(0xffffd))).toBe('c1 00 00 01'); // 0x100001 needs 4 bytes
  });
});

describe('data objects (20.2.3)', () => {
  it('encodes integers in the shortest form', () => {
    expect(hex(a.int(0))).toBe('00');
    expect(hex(a.int(1))).toBe('01');
    expect(hex(a.int(2))).toBe('0a 02');
    expect(hex(a.int(0xff))).toBe('0a ff');
    expect(hex(a.int(0x100))).toBe('0b 00 01');
    expect(hex(a.int(0x10000))).toBe('0c 00 00 01 00');
    expect(hex(a.int(0xffffffff))).toBe('0c ff ff ff ff');
    expect(hex(a.int(0x1_0000_0000n))).toBe('0e 00 00 00 00 01 00 00 00');
    expect(hex(a.int(0xffff_ffff_ffff_ffffn))).toBe('ff');
    expect(() => a.int(-1)).toThrow();
  });
  it('encodes strings, buffers and packages', () => {
    expect(hex(a.str('ACPI0006'))).toBe(bytes('0d 41 43 50 49 30 30 30 36 00'));
    expect(hex(a.buffer([1, 2, 3]))).toBe(bytes('11 06 0a 03 01 02 03'));
    expect(hex(a.pkgOf(a.int(0), a.int(0), a.int(0), a.int(0)))).toBe(bytes('12 06 04 00 00 00 00'));
  });
  it('compresses EISA ids', () => {
    expect(hex(a.eisaId('PNP0A03'))).toBe(bytes('0c 41 d0 0a 03'));
    expect(a.eisaIdValue('PNP0501')).toBe(0x0105d041);
    expect(a.eisaIdValue('PNP0C0F')).toBe(0x0f0cd041);
  });
});

describe('named objects and statements (20.2.5)', () => {
  it('encodes Device, Name, Scope', () => {
    expect(hex(a.device('PCI0', a.name('_ADR', a.int(0))))).toBe(bytes('5b 82 0b 50 43 49 30 08 5f 41 44 52 00'));
    expect(hex(a.scope('\\_SB'))).toBe(bytes('10 06 5c 5f 53 42 5f'));
  });
  it('encodes Method flags and Return', () => {
    expect(hex(a.method('_STA', {}, a.ret(a.int(0x0f))))).toBe(bytes('14 09 5f 53 54 41 00 a4 0a 0f'));
    expect(hex(a.method('IQCR', { args: 1, serialized: true }))).toBe(bytes('14 06 49 51 43 52 09'));
  });
  it('encodes If/Else, logic and arithmetic', () => {
    expect(hex(a.ifThen(a.lEqual(a.arg(0), a.int(1)), a.ret(a.int(1))))).toBe(bytes('a0 06 93 68 01 a4 01'));
    expect(hex(a.elseDo(a.ret(a.int(0))))).toBe(bytes('a1 03 a4 00'));
    expect(hex(a.lAnd(a.local(0), a.local(1)))).toBe(bytes('90 60 61'));
    expect(hex(a.and(a.arg(0), a.int(0x80)))).toBe(bytes('7b 68 0a 80 00'));
    expect(hex(a.or(a.ref('PRQ0'), a.int(0x80), a.ref('PRQ0')))).toBe(bytes('7d 50 52 51 30 0a 80 50 52 51 30'));
    expect(hex(a.shiftLeft(a.int(1), a.arg(0), a.local(2)))).toBe(bytes('79 01 68 62'));
    expect(hex(a.store(a.arg(0), a.local(0)))).toBe(bytes('70 68 60'));
    expect(hex(a.notify(a.ref('\\_SB.PCI0'), a.int(1)))).toBe(bytes('86 5c 2e 5f 53 42 5f 50 43 49 30 01'));
  });
  it('encodes OperationRegion and Field with reserved gaps', () => {
    expect(hex(a.opRegion('P40C', a.RegionSpace.PCI_Config, 0x60, 4))).toBe(bytes('5b 80 50 34 30 43 02 0a 60 0a 04'));
    expect(hex(a.field('P40C', { access: a.AccessType.Byte, lock: false, update: a.UpdateRule.Preserve },
      [{ name: 'PRQ0', bits: 8 }, { reservedBits: 16 }, { name: 'PRQ3', bits: 8 }])))
      .toBe(bytes('5b 81 12 50 34 30 43 01 50 52 51 30 08 00 10 50 52 51 33 08'));
    expect(a.field('HPTM', { access: a.AccessType.DWord, lock: true, update: a.UpdateRule.WriteAsZeros }, [])[7]).toBe(0x53);
  });
  it('encodes Processor', () => {
    expect(hex(a.processor('C000', 0, 0, 0))).toBe(bytes('5b 83 0b 43 30 30 30 00 00 00 00 00 00'));
  });
});

describe('resource descriptors (6.4)', () => {
  it('encodes small items and the end tag', () => {
    expect(hex(a.resourceTemplate(a.resIrqNoFlags(4)))).toBe(bytes('11 08 0a 05 22 10 00 79 00'));
    expect(hex(a.resIo(0x3f8, 0x3f8, 0, 8))).toBe(bytes('47 01 f8 03 f8 03 00 08'));
    expect(hex(a.resIrq({ edge: false, activeLow: true, shared: true }, 5, 11))).toBe(bytes('23 20 08 18'));
  });
  it('encodes large items', () => {
    expect(hex(a.resMemory32Fixed(false, 0xfed00000, 0x400))).toBe(bytes('86 09 00 00 00 00 d0 fe 00 04 00 00'));
    expect(hex(a.resWordBusNumber({}, { granularity: 0, min: 0, max: 0xff, translation: 0, length: 0x100 })))
      .toBe(bytes('88 0d 00 02 0c 00 00 00 00 00 ff 00 00 00 00 01'));
    expect(hex(a.resInterrupt({ edge: false, activeLow: false, shared: true }, 5, 10)))
      .toBe(bytes('89 0a 00 09 02 05 00 00 00 0a 00 00 00'));
    expect(a.resDWordMemory({ cacheable: 1, readWrite: true }, { granularity: 0, min: 0xa0000, max: 0xbffff, translation: 0, length: 0x20000 }).length).toBe(26);
    expect(a.resQWordMemory({ cacheable: 0, readWrite: true }, { granularity: 0, min: 1n << 32n, max: (1n << 33n) - 1n, translation: 0, length: 1n << 32n }).length).toBe(46);
  });
});
