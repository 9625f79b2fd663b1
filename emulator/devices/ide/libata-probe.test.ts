/**
 * Replays what Linux 6.1 libata (ata_piix) does at the port level when it probes the
 * controller — SRST and signature classification on both channels, IDENTIFY (PACKET)
 * DEVICE, SET FEATURES (transfer mode), then the SCSI probe of the CD-ROM through PACKET
 * (INQUIRY and its VPD pages, REQUEST SENSE, TEST UNIT READY, MODE SENSE and GET
 * CONFIGURATION by DMA, READ TOC, READ CAPACITY, READ DISC INFORMATION, READ TRACK
 * INFORMATION, GET EVENT STATUS NOTIFICATION) and a READ(10) by DMA — against a Piix3Ide
 * with the CD-ROM as secondary master, and compares every value read (task file, status,
 * alternate status, data, bus master registers) and IRQ 15 with what QEMU returned to the
 * same accesses (test-support/libata-probe.qemu.txt, recorded from QEMU 7.2).
 *
 * Backend requests complete before each read (the replay has no timing).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../host/open-disk.js';
import type { BlockBackend } from '../../storage/block-backend.js';
import { AtapiCdrom } from './atapi-cdrom.js';
import { makeRig, tempDir } from './test-support/ide-rig.js';

const TRACE = new URL('./test-support/libata-probe.qemu.txt', import.meta.url);
/** The ISO QEMU booted (used when cached; otherwise an image of the same size). */
const LINUX_ISO = join(homedir(), '.cache/vireo/iso/linux-test-1a10b5cbaa2cf9f4.iso');
const ISO_BLOCKS = 4107;
/** Where the replay puts its PRD tables and DMA buffers. */
const PRD_AT = [0x1000, 0x1100] as const;
const DMA_BUF = 0x10000;

const tmp = tempDir('libata');
const opened: BlockBackend[] = [];
afterAll(async () => {
  for (const b of opened) await b.close().catch(() => undefined);
  tmp.remove();
});

async function medium(): Promise<BlockBackend> {
  let path = LINUX_ISO;
  if (!existsSync(path)) {
    path = join(tmp.dir, 'same-size.iso');
    const img = new Uint8Array(ISO_BLOCKS * 2048);
    img.set([1, ...Buffer.from('CD001'), 1], 16 * 2048);
    writeFileSync(path, img);
  }
  const b = await openDisk(path, { format: 'iso' });
  opened.push(b);
  return b;
}

/** Allocation length of a CDB, i.e. the size libata's scatter list (one PRD entry) has. */
function allocationLength(cdb: Uint8Array): number {
  const be16 = (i: number): number => (cdb[i]! << 8) | cdb[i + 1]!;
  switch (cdb[0]) {
    case 0x28: return be16(7) * 2048;
    case 0x12: case 0x03: return cdb[4]!;
    default: return be16(7);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Linux libata probe against QEMU\'s answers', () => {
  it('every register, data and IRQ 15 value matches QEMU through READ CAPACITY and a DMA READ(10)', async () => {
    const rig = makeRig();
    const cd = new AtapiCdrom({
      id: 'ide1-cd0', medium: await medium(),
      model: 'QEMU DVD-ROM', firmware: '2.5+', serial: 'QM00003', vendor: 'QEMU', product: 'QEMU DVD-ROM',
    });
    rig.ide.attach(1, 0, cd);
    // Where SeaBIOS and ISOLINUX left the drive: a command completed (status 50h),
    // its interrupt acknowledged, the bus master Interrupt bit cleared.
    rig.ide.secondaryIo.write(6, 1, 0xa0);
    rig.ide.secondaryIo.write(7, 1, 0xa1);
    for (let i = 0; i < 256; i++) rig.ide.secondaryIo.read(0, 2);
    rig.ide.secondaryIo.read(7, 1);
    rig.ide.busMasterIo.write(8 + 2, 1, 0x04);
    const baseRising = rig.irq15.rising;
    const io = [rig.ide.primaryIo, rig.ide.secondaryIo] as const;
    const ctl = [rig.ide.primaryCtl, rig.ide.secondaryCtl] as const;
    const bm = rig.ide.busMasterIo;
    const irqLine = { 14: rig.irq14, 15: rig.irq15 } as const;
    const qemu = { 14: { level: false, rising: 0 }, 15: { level: false, rising: baseRising } };

    const port = (p: number): { ch: 0 | 1; ctl: boolean; reg: number } => {
      if (p === 0x3f6 || p === 0x376) return { ch: p === 0x3f6 ? 0 : 1, ctl: true, reg: 0 };
      if (p >= 0x1f0 && p <= 0x1f7) return { ch: 0, ctl: false, reg: p - 0x1f0 };
      if (p >= 0x170 && p <= 0x177) return { ch: 1, ctl: false, reg: p - 0x170 };
      throw new Error(`port 0x${p.toString(16)}`);
    };

    const mismatches: string[] = [];
    let note = '';
    const cdb = new Uint8Array(12);
    let cdbPos = 0;
    const hex = (v: number, w = 2): string => v.toString(16).padStart(w, '0');
    const lines = readFileSync(TRACE, 'utf8').split('\n');
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!.trim();
      if (line.startsWith('#')) {
        if (line.startsWith('# packet') || line.startsWith('# ATA command')) note = line.slice(2);
        continue;
      }
      if (!line) continue;
      const [op, a, b, c] = line.split(/\s+/) as [string, string, string?, string?];
      const diff = (what: string, want: number, got: number, w = 2): void => {
        if (want !== got) mismatches.push(`line ${n + 1} (${note}): ${what}: QEMU 0x${hex(want, w)}, Vireo 0x${hex(got, w)}`);
      };
      switch (op) {
        case 'w': case 'wl': {
          const p = port(parseInt(a, 16));
          const v = parseInt(b!, 16);
          if (op === 'wl') {
            for (let i = 0; i < 4; i++) cdb[(cdbPos + i) % 12] = (v >>> (8 * i)) & 0xff;
            cdbPos = (cdbPos + 4) % 12;
            io[p.ch].write(0, 4, v);
          } else if (p.ctl) ctl[p.ch].write(0, 1, v);
          else {
            if (p.reg === 7) cdbPos = 0;
            io[p.ch].write(p.reg, 1, v);
          }
          break;
        }
        case 'r': case 'rl': case 'rw': {
          await rig.ide.settled();
          await settle();
          const pa = parseInt(a, 16);
          const p = port(pa);
          const want = parseInt(b!, 16);
          const got = op === 'rl' ? io[p.ch].read(0, 4) >>> 0 : op === 'rw' ? io[p.ch].read(0, 2)
            : p.ctl ? ctl[p.ch].read(0, 1) : io[p.ch].read(p.reg, 1);
          diff(`${op} ${a}`, want, got, op === 'rl' ? 8 : op === 'rw' ? 4 : 2);
          if (op === 'r' && (p.ctl || p.reg === 7)) {
            const irq = p.ch === 0 ? 14 : 15;
            const mine = irqLine[irq];
            if (mine.level !== qemu[irq].level || mine.rising !== qemu[irq].rising) {
              mismatches.push(`line ${n + 1} (${note}): IRQ ${irq} after ${op} ${a}: QEMU level ${+qemu[irq].level} `
                + `(${qemu[irq].rising} raised), Vireo level ${+mine.level} (${mine.rising} raised)`);
              qemu[irq].rising = mine.rising; // report each divergence once
            }
          }
          break;
        }
        case 'bw': case 'br': {
          const ch = Number(a);
          const off = parseInt(b!, 16);
          const v = parseInt(c!, 16);
          if (op === 'bw') {
            if (off === 0 && (v & 1) && !(bm.read(ch * 8, 1) & 1)) {
              rig.mem.prd(PRD_AT[ch as 0 | 1], [[DMA_BUF, allocationLength(cdb)]]);
            }
            bm.write(ch * 8 + off, 1, v);
          } else {
            await rig.ide.settled();
            await settle();
            diff(`bus master ${ch} +${off}`, v, bm.read(ch * 8 + off, 1));
          }
          break;
        }
        case 'bprd':
          bm.write(Number(a) * 8 + 4, 4, PRD_AT[Number(a) as 0 | 1]);
          break;
        case 'irq': {
          const q = qemu[Number(a) as 14 | 15];
          const level = b === '1';
          if (level && !q.level) q.rising++;
          q.level = level;
          break;
        }
        default:
          throw new Error(`line ${n + 1}: unknown op ${op}`);
      }
    }
    expect(mismatches).toEqual([]);
    // The DMA READ(10) of block 16 put the primary volume descriptor in memory.
    expect(String.fromCharCode(...rig.mem.bytes.subarray(DMA_BUF + 1, DMA_BUF + 6))).toBe('CD001');
    // The one guest error: READ TRACK INFORMATION, which QEMU's drive rejects as well.
    expect(rig.logs).toEqual(['ide1-cd0: unsupported packet command 0x52']);
  });
});
