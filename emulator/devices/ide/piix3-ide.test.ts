/**
 * The PIIX3 IDE PCI function: identity and BAR4 reporting, snapshot round trip and
 * validation, and a fast-check fuzz of random port sequences against a disk on a
 * read-only image and a CD-ROM: nothing throws and the image is never written.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../storage/block-backend.js';
import { accessArb, replay } from '../../test-support/device-harness.js';
import { AtaDisk } from './ata-disk.js';
import { AtapiCdrom } from './atapi-cdrom.js';
import { ATA_CMD } from './ide-constants.js';
import { BM_BASE, Driver, fileSha, makeRig, rawDisk, tempDir } from './test-support/ide-rig.js';

const tmp = tempDir('piix3');
const opened: BlockBackend[] = [];
afterAll(async () => {
  for (const b of opened) await b.close().catch(() => undefined);
  tmp.remove();
});

describe('Piix3Ide PCI function', () => {
  it('is 8086:7010 class 010180 with an I/O BAR4 of 16 bytes reported through onBarChange', () => {
    const rig = makeRig(false);
    const ide = rig.ide;
    expect(ide.configRead(0, 4)).toBe(0x7010_8086);
    expect(ide.configRead(0x08, 4) >>> 8).toBe(0x010180);
    expect(ide.configRead(0x3d, 1)).toBe(0);
    ide.configWrite(0x20, 4, 0xffffffff);
    expect(ide.configRead(0x20, 4)).toBe(0xfffffff1);
    ide.configWrite(0x20, 4, BM_BASE);
    expect(rig.bar4.address).toBeNull();
    ide.configWrite(0x04, 2, 0x0001);
    expect(rig.bar4.address).toBe(BM_BASE);
    ide.configWrite(0x40, 2, 0x8000); // IDETIM storage
    expect(ide.configRead(0x40, 2)).toBe(0x8000);
  });

  it('refuses DMA while Bus Master Enable is clear', async () => {
    const img = await rawDisk(tmp.dir, 'bme.img', 1 << 20);
    opened.push(img.backend);
    const rig = makeRig();
    rig.ide.configWrite(0x04, 2, 0x0001);
    rig.ide.attach(0, 0, new AtaDisk({ id: 'hd', backend: img.backend }));
    const d = new Driver(rig, 0);
    rig.mem.prd(0x1000, [[0x10000, 512]]);
    rig.ide.busMasterIo.write(4, 4, 0x1000);
    d.lba28(0, 0, 1, ATA_CMD.READ_DMA);
    rig.ide.busMasterIo.write(0, 1, 0x09);
    const st = await d.notBusy();
    expect(st & 1).toBe(1);
    expect(rig.ide.busMasterIo.read(2, 1) & 0x06).toBe(0x06); // Error + Interrupt
  });

  it('round-trips its state through JSON and rejects bad state', async () => {
    const img = await rawDisk(tmp.dir, 'snap.img', 1 << 20);
    opened.push(img.backend);
    const build = () => {
      const rig = makeRig();
      rig.ide.attach(0, 0, new AtaDisk({ id: 'hd', backend: img.backend }));
      rig.ide.attach(1, 0, new AtapiCdrom({ id: 'cd' }));
      return rig;
    };
    const a = build();
    const d = new Driver(a, 0);
    d.select(0);
    d.out(2, 8); d.out(7, ATA_CMD.SET_MULTIPLE_MODE);
    d.out(1, 0x03); d.out(2, 0x42); d.out(7, ATA_CMD.SET_FEATURES);
    a.ide.busMasterIo.write(4, 4, 0x1234);
    const b = build();
    const json = JSON.stringify(a.ide.saveState());
    b.ide.loadState(JSON.parse(json));
    expect(JSON.stringify(b.ide.saveState())).toBe(json);
    expect(b.ide.busMasterIo.read(4, 4)).toBe(0x1234);

    const bad = JSON.parse(json) as { channels: Array<{ unit: number }> };
    bad.channels[0]!.unit = 7;
    const before = JSON.stringify(b.ide.saveState());
    expect(() => b.ide.loadState(bad)).toThrow(/unit/);
    expect(JSON.stringify(b.ide.saveState())).toBe(before);

    // A command in progress is restored as aborted, with an interrupt pending.
    d.lba28(0, 0, 2, ATA_CMD.READ_SECTORS);
    await d.notBusy();
    const c = build();
    c.ide.loadState(JSON.parse(JSON.stringify(a.ide.saveState())));
    const dc = new Driver(c, 0);
    expect(dc.alt() & 0x09).toBe(0x01);
    expect(c.irq14.level).toBe(true);
  });

  it('fuzz: random port sequences never throw and never write a read-only image', async () => {
    const img = await rawDisk(tmp.dir, 'ro.img', 256 * 1024, { readOnly: true });
    opened.push(img.backend);
    const hash = fileSha(img.path);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        accessArb(5, 8),
        // Lean towards real commands on the command register.
        fc.record({
          handler: fc.constantFrom(0, 2), offset: fc.constant(7), size: fc.constant<1>(1), write: fc.constant(true),
          value: fc.constantFrom(0x20, 0x24, 0x25, 0x30, 0x34, 0x35, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe7, 0xec, 0xef,
            0xa0, 0xa1, 0x08, 0x90, 0x91, 0x40), stepNs: fc.constant(0),
        }),
      ), { maxLength: 120 }),
      async (seq) => {
        const rig = makeRig();
        rig.ide.attach(0, 0, new AtaDisk({ id: 'hd', backend: img.backend }));
        rig.ide.attach(1, 0, new AtapiCdrom({ id: 'cd', medium: img.backend }));
        rig.mem.prd(0, [[0x1000, 0x2000]]);
        const handlers = [
          { h: rig.ide.primaryIo, span: 8 }, { h: rig.ide.primaryCtl, span: 1 },
          { h: rig.ide.secondaryIo, span: 8 }, { h: rig.ide.secondaryCtl, span: 1 },
          { h: rig.ide.busMasterIo, span: 16 },
        ];
        const half = Math.floor(seq.length / 2);
        replay(handlers, seq.slice(0, half));
        await rig.ide.settled();
        replay(handlers, seq.slice(half));
        await rig.ide.settled();
        JSON.stringify(rig.ide.saveState());
      },
    ), { numRuns: 60 });
    expect(fileSha(img.path)).toBe(hash);
  });
});
