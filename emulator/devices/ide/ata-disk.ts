/**
 * AtaDisk: an ATA hard disk on a BlockBackend, the device behind SeaBIOS's int 13h, Linux
 * ata_piix and the Windows storport/pciide "IDE disk".
 *
 * Commands (ATA/ATAPI-6, T13 1410D, section 8): IDENTIFY DEVICE (8.15), READ SECTORS
 * (8.27) / EXT (8.28), WRITE SECTORS (8.49) / EXT (8.50), READ MULTIPLE (8.23) / EXT
 * (8.24), WRITE MULTIPLE (8.46) / EXT (8.47) with SET MULTIPLE MODE (8.39), READ DMA
 * (8.21) / EXT (8.22), WRITE DMA (8.44) / EXT (8.45), READ VERIFY SECTORS (8.29) / EXT
 * (8.30), FLUSH CACHE (8.13) / EXT (8.14), SET FEATURES (8.36: transfer mode, write
 * cache, read look-ahead and revert-to-defaults accepted), INITIALIZE DEVICE PARAMETERS
 * (ATA-3 8.16, obsolete in ATA-6 but used by old BIOSes), RECALIBRATE and SEEK (ATA-3),
 * IDLE / IDLE IMMEDIATE / STANDBY / STANDBY IMMEDIATE / SLEEP / CHECK POWER MODE (8.6,
 * 8.17-8.18, 8.40-8.43), NOP (8.20, always aborts). Protocols: PIO data-in (9.5: INTRQ
 * before every DRQ block, none at the end), PIO data-out (9.6: no INTRQ before the first
 * block, one after every block), DMA (9.7, through the channel's SFF-8038i bus master).
 *
 * Addressing: CHS through the current translation, 28-bit LBA and 48-bit LBA. A request
 * beyond the end of the disk fails with IDNF; a write to a read-only image aborts (ABRT)
 * before any data moves, so the image is untouched. Backend errors become UNC on reads
 * and ABRT on writes and flushes, are logged, and never throw. FLUSH CACHE completes only
 * after `BlockBackend.flush()` resolved; with the write cache disabled every write is
 * followed by a flush before it completes.
 *
 * After a command the task file holds the address after the last sector transferred and
 * the count of sectors left (QEMU ide_set_sector); on an error it holds the first sector
 * not transferred.
 *
 * Left out: SMART, security, HPA (READ NATIVE MAX aborts as on a drive without it),
 * DOWNLOAD MICROCODE, TRIM/DATA SET MANAGEMENT, NCQ, power-management timers.
 */
import type { BlockBackend } from '../../storage/block-backend.js';
import {
  ATA_CMD, ATA_DEV_HEAD, ATA_DEV_LBA, ATA_ER_ABRT, ATA_ER_IDNF, ATA_ER_UNC, ATA_MAX_MULT_SECTORS, ATA_SECTOR_BYTES,
  ATA_SR_BSY, ATA_SR_DRDY, ATA_SR_DRQ, ATA_SR_DSC,
  SETFEAT_DISABLE_READ_LOOK_AHEAD, SETFEAT_DISABLE_REVERT_TO_DEFAULTS, SETFEAT_DISABLE_WRITE_CACHE,
  SETFEAT_ENABLE_READ_LOOK_AHEAD, SETFEAT_ENABLE_REVERT_TO_DEFAULTS, SETFEAT_ENABLE_WRITE_CACHE,
  SETFEAT_SET_TRANSFER_MODE,
} from './ide-constants.js';
import { IdeDevice, type IdeResetKind, STATUS_READY } from './ide-device.js';
import { ataIdentify, guessGeometry, type ChsGeometry, TransferMode } from './identify.js';
import { bool, int, obj, version } from '../state-check.js';

/** Largest backend request made for one piece of a transfer (sectors; 128 KiB). */
const CHUNK_SECTORS = 256;

/** Construction options of a disk. */
export interface AtaDiskOptions {
  /** Stable id for logs and snapshots, e.g. "ide0-hd0". */
  readonly id: string;
  readonly backend: BlockBackend;
  /** Up to 20 characters (IDENTIFY words 10-19); defaults to one derived from `id`. */
  readonly serial?: string;
  /** Up to 40 characters; default "VIREO HARDDISK". */
  readonly model?: string;
  /** Up to 8 characters; default "1.0". */
  readonly firmware?: string;
}

type PowerMode = 'active' | 'idle' | 'standby';

/** How a read/write command addresses the disk and moves data. */
interface RwRequest {
  lba: number;
  count: number;
  readonly ext: boolean;
  readonly chs: boolean;
}

/** An ATA hard disk. */
export class AtaDisk extends IdeDevice {
  readonly kind = 'ata' as const;
  /** The disk image. */
  readonly backend: BlockBackend;
  /** Size in 512-byte sectors (a partial last sector is not addressable). */
  readonly totalSectors: number;
  /** Default CHS geometry (IDENTIFY words 1, 3, 6). */
  readonly geometry: ChsGeometry;
  private readonly model: string;
  private readonly serial: string;
  private readonly firmware: string;
  private readonly transferMode = new TransferMode();
  private multSectors = ATA_MAX_MULT_SECTORS;
  private writeCache = true;
  private curHeads: number;
  private curSectors: number;
  private power: PowerMode = 'active';

  constructor(opts: AtaDiskOptions) {
    super(opts.id);
    this.backend = opts.backend;
    this.totalSectors = Math.floor(opts.backend.sizeBytes / ATA_SECTOR_BYTES);
    this.geometry = guessGeometry(this.totalSectors);
    this.curHeads = this.geometry.heads;
    this.curSectors = this.geometry.sectorsPerTrack;
    this.model = opts.model ?? 'VIREO HARDDISK';
    this.serial = opts.serial ?? `VR${opts.id.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`.slice(0, 20);
    this.firmware = opts.firmware ?? '1.0';
  }

  /** The 512 bytes IDENTIFY DEVICE returns now. */
  identifyData(): Uint8Array {
    return ataIdentify({
      model: this.model, serial: this.serial, firmware: this.firmware, totalSectors: this.totalSectors,
      geometry: this.geometry, currentHeads: this.curHeads, currentSectorsPerTrack: this.curSectors,
      multSectors: this.multSectors, writeCache: this.writeCache, transferMode: this.transferMode,
    });
  }

  /** @inheritdoc */
  executeCommand(cmd: number): void {
    this.beginCommand();
    const C = ATA_CMD;
    switch (cmd) {
      case C.IDENTIFY_DEVICE:
        this.pioIn(this.identifyData(), () => { this.status = STATUS_READY; });
        return;
      case C.READ_SECTORS: case C.READ_SECTORS_NORETRY: return this.pioRead(this.request(false), 1);
      case C.READ_SECTORS_EXT: return this.pioRead(this.request(true), 1);
      case C.READ_MULTIPLE: case C.READ_MULTIPLE_EXT:
        if (!this.multSectors) return this.abort('READ MULTIPLE with multiple mode disabled');
        return this.pioRead(this.request(cmd === C.READ_MULTIPLE_EXT), this.multSectors);
      case C.WRITE_SECTORS: case C.WRITE_SECTORS_NORETRY: return this.pioWrite(this.request(false), 1);
      case C.WRITE_SECTORS_EXT: return this.pioWrite(this.request(true), 1);
      case C.WRITE_MULTIPLE: case C.WRITE_MULTIPLE_EXT:
        if (!this.multSectors) return this.abort('WRITE MULTIPLE with multiple mode disabled');
        return this.pioWrite(this.request(cmd === C.WRITE_MULTIPLE_EXT), this.multSectors);
      case C.READ_DMA: case C.READ_DMA_NORETRY: return this.dmaRead(this.request(false));
      case C.READ_DMA_EXT: return this.dmaRead(this.request(true));
      case C.WRITE_DMA: case C.WRITE_DMA_NORETRY: return this.dmaWrite(this.request(false));
      case C.WRITE_DMA_EXT: return this.dmaWrite(this.request(true));
      case C.READ_VERIFY_SECTORS: case C.READ_VERIFY_SECTORS_NORETRY: case C.READ_VERIFY_SECTORS_EXT: {
        const rq = this.request(cmd === C.READ_VERIFY_SECTORS_EXT);
        if (!this.checkRange(rq)) return;
        rq.lba += rq.count; rq.count = 0;
        this.setPosition(rq);
        return this.completeOk();
      }
      case C.FLUSH_CACHE: case C.FLUSH_CACHE_EXT:
        this.backendIo(() => this.backend.flush(), (err) => {
          if (err) this.completeError(ATA_ER_ABRT); else this.completeOk();
        });
        return;
      case C.SET_MULTIPLE_MODE: {
        const n = this.nsector;
        if (n > ATA_MAX_MULT_SECTORS || (n & (n - 1)) !== 0) return this.abort(`SET MULTIPLE MODE ${n}`);
        this.multSectors = n;
        return this.completeOk();
      }
      case C.SET_FEATURES: return this.setFeatures();
      case C.INITIALIZE_DEVICE_PARAMETERS:
        if (this.nsector === 0) return this.abort('INITIALIZE DEVICE PARAMETERS with 0 sectors per track');
        this.curHeads = (this.select & ATA_DEV_HEAD) + 1;
        this.curSectors = this.nsector;
        return this.completeOk();
      case C.IDLE: case C.IDLE_IMMEDIATE: this.power = 'idle'; return this.completeOk();
      case C.STANDBY: case C.STANDBY_IMMEDIATE: case C.SLEEP: this.power = 'standby'; return this.completeOk();
      case C.CHECK_POWER_MODE:
        this.nsector = this.power === 'standby' ? 0x00 : this.power === 'idle' ? 0x80 : 0xff;
        return this.completeOk();
      default:
        if ((cmd & 0xf0) === C.RECALIBRATE || (cmd & 0xf0) === C.SEEK) return this.completeOk();
        if (cmd === C.NOP) return this.completeError(ATA_ER_ABRT);
        return this.abort(`unsupported command 0x${cmd.toString(16)}`);
    }
  }

  // ---- addressing -------------------------------------------------------------------------

  private request(ext: boolean): RwRequest {
    if (ext) {
      const lba = ((this.hobHcyl * 256 + this.hobLcyl) * 256 + this.hobSector) * 0x100_0000
        + ((this.hcyl << 16) | (this.lcyl << 8) | this.sector);
      const n = (this.hobNsector << 8) | this.nsector;
      return { lba, count: n === 0 ? 0x10000 : n, ext, chs: false };
    }
    const count = this.nsector === 0 ? 256 : this.nsector;
    if (this.select & ATA_DEV_LBA) {
      const lba = ((this.select & ATA_DEV_HEAD) << 24 | this.hcyl << 16 | this.lcyl << 8 | this.sector) >>> 0;
      return { lba, count, ext, chs: false };
    }
    const cyl = (this.hcyl << 8) | this.lcyl;
    const head = this.select & ATA_DEV_HEAD;
    const sec = this.sector;
    if (sec === 0 || sec > this.curSectors || head >= this.curHeads) {
      // An impossible CHS address: report it as not found.
      return { lba: Number.MAX_SAFE_INTEGER, count, ext, chs: true };
    }
    return { lba: (cyl * this.curHeads + head) * this.curSectors + sec - 1, count, ext, chs: true };
  }

  /** Fails the command with IDNF when the request leaves the disk. */
  private checkRange(rq: RwRequest): boolean {
    if (rq.lba + rq.count <= this.totalSectors) return true;
    this.misuse(`sectors ${rq.lba}+${rq.count} beyond the ${this.totalSectors}-sector disk`);
    this.completeError(ATA_ER_IDNF);
    return false;
  }

  /** Writes the address of the next sector and the remaining count into the task file. */
  private setPosition(rq: RwRequest): void {
    const lba = rq.lba;
    if (rq.ext) {
      this.sector = lba & 0xff; this.lcyl = (lba >>> 8) & 0xff; this.hcyl = (lba >>> 16) & 0xff;
      const hi = Math.floor(lba / 0x100_0000);
      this.hobSector = hi & 0xff; this.hobLcyl = (hi >>> 8) & 0xff; this.hobHcyl = (hi >>> 16) & 0xff;
      this.nsector = rq.count & 0xff; this.hobNsector = (rq.count >>> 8) & 0xff;
    } else if (!rq.chs) {
      this.sector = lba & 0xff; this.lcyl = (lba >>> 8) & 0xff; this.hcyl = (lba >>> 16) & 0xff;
      this.select = (this.select & ~ATA_DEV_HEAD) | ((lba >>> 24) & ATA_DEV_HEAD);
      this.nsector = rq.count & 0xff;
    } else {
      const perCyl = this.curHeads * this.curSectors;
      const cyl = Math.floor(lba / perCyl);
      const r = lba % perCyl;
      this.hcyl = (cyl >>> 8) & 0xff; this.lcyl = cyl & 0xff;
      this.select = (this.select & ~ATA_DEV_HEAD) | (Math.floor(r / this.curSectors) & ATA_DEV_HEAD);
      this.sector = (r % this.curSectors) + 1;
      this.nsector = rq.count & 0xff;
    }
  }

  // ---- PIO --------------------------------------------------------------------------------

  private pioRead(rq: RwRequest, blockSectors: number): void {
    if (!this.checkRange(rq)) return;
    this.power = 'active';
    this.fetchForPio(rq, blockSectors);
  }

  private fetchForPio(rq: RwRequest, blockSectors: number): void {
    const n = Math.min(rq.count, CHUNK_SECTORS);
    const buf = new Uint8Array(n * ATA_SECTOR_BYTES);
    this.status = ATA_SR_BSY | ATA_SR_DRDY;
    this.backendIo(() => this.backend.read(rq.lba * ATA_SECTOR_BYTES, buf), (err) => {
      if (err) { this.setPosition(rq); this.completeError(ATA_ER_UNC); return; }
      this.offerBlocks(rq, blockSectors, buf, 0);
    });
  }

  private offerBlocks(rq: RwRequest, blockSectors: number, buf: Uint8Array, offset: number): void {
    const n = Math.min(blockSectors, rq.count, (buf.length - offset) / ATA_SECTOR_BYTES);
    const end = offset + n * ATA_SECTOR_BYTES;
    this.pioIn(buf.subarray(offset, end), () => {
      rq.lba += n;
      rq.count -= n;
      this.setPosition(rq);
      if (rq.count === 0) { this.status = STATUS_READY; return; }
      if (end < buf.length) this.offerBlocks(rq, blockSectors, buf, end);
      else this.fetchForPio(rq, blockSectors);
    });
  }

  private pioWrite(rq: RwRequest, blockSectors: number): void {
    if (this.backend.readOnly) return this.abort('write to a read-only disk');
    if (!this.checkRange(rq)) return;
    this.power = 'active';
    this.requestBlock(rq, blockSectors, false);
  }

  private requestBlock(rq: RwRequest, blockSectors: number, irq: boolean): void {
    const n = Math.min(blockSectors, rq.count);
    const buf = new Uint8Array(n * ATA_SECTOR_BYTES);
    this.pioOut(buf, () => {
      this.status = ATA_SR_BSY | ATA_SR_DRDY;
      this.writeThrough(rq.lba, buf, (err) => {
        if (err) { this.setPosition(rq); this.completeError(ATA_ER_ABRT); return; }
        rq.lba += n;
        rq.count -= n;
        this.setPosition(rq);
        if (rq.count === 0) this.completeOk();
        else this.requestBlock(rq, blockSectors, true);
      });
    }, irq);
  }

  /** Writes `data` at sector `lba`; flushes too when the write cache is off. */
  private writeThrough(lba: number, data: Uint8Array, then: (err: unknown) => void): void {
    this.backendIo(async () => {
      await this.backend.write(lba * ATA_SECTOR_BYTES, data);
      if (!this.writeCache) await this.backend.flush();
    }, then);
  }

  // ---- DMA --------------------------------------------------------------------------------

  private dmaRead(rq: RwRequest): void {
    if (!this.checkRange(rq)) return;
    this.power = 'active';
    this.dmaReadChunk(rq);
  }

  private dmaReadChunk(rq: RwRequest): void {
    const n = Math.min(rq.count, CHUNK_SECTORS);
    const buf = new Uint8Array(n * ATA_SECTOR_BYTES);
    this.status = ATA_SR_BSY | ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
    this.dmaActive = true;
    this.backendIo(() => this.backend.read(rq.lba * ATA_SECTOR_BYTES, buf), (err) => {
      if (err) { this.setPosition(rq); this.dmaEnd(false, ATA_ER_UNC); return; }
      this.dmaTransfer(true, buf, (r) => {
        if (r === 'short') return this.dmaShort();
        if (r === 'error') { this.setPosition(rq); return this.dmaEnd(false); }
        rq.lba += n;
        rq.count -= n;
        this.setPosition(rq);
        if (rq.count === 0) this.dmaEnd(true);
        else this.dmaReadChunk(rq);
      });
    });
  }

  private dmaWrite(rq: RwRequest): void {
    if (this.backend.readOnly) return this.abort('write to a read-only disk');
    if (!this.checkRange(rq)) return;
    this.power = 'active';
    this.dmaWriteChunk(rq);
  }

  private dmaWriteChunk(rq: RwRequest): void {
    const n = Math.min(rq.count, CHUNK_SECTORS);
    const buf = new Uint8Array(n * ATA_SECTOR_BYTES);
    this.status = ATA_SR_BSY | ATA_SR_DRDY | ATA_SR_DSC | ATA_SR_DRQ;
    this.dmaTransfer(false, buf, (r) => {
      if (r === 'short') return this.dmaShort();
      if (r === 'error') { this.setPosition(rq); return this.dmaEnd(false); }
      this.writeThrough(rq.lba, buf, (err) => {
        if (err) { this.setPosition(rq); this.dmaEnd(false); return; }
        rq.lba += n;
        rq.count -= n;
        this.setPosition(rq);
        if (rq.count === 0) this.dmaEnd(true);
        else this.dmaWriteChunk(rq);
      });
    });
  }

  // ---- SET FEATURES -----------------------------------------------------------------------

  private setFeatures(): void {
    switch (this.feature) {
      case SETFEAT_ENABLE_WRITE_CACHE: this.writeCache = true; return this.completeOk();
      case SETFEAT_DISABLE_WRITE_CACHE:
        this.writeCache = false;
        // Data cached so far must reach the disk before the cache is off.
        this.backendIo(() => (this.backend.readOnly ? Promise.resolve() : this.backend.flush()), (err) => {
          if (err) this.completeError(ATA_ER_ABRT); else this.completeOk();
        });
        return;
      case SETFEAT_SET_TRANSFER_MODE:
        if (!this.transferMode.select(this.nsector)) return this.abort(`transfer mode 0x${this.nsector.toString(16)}`);
        return this.completeOk();
      case SETFEAT_ENABLE_READ_LOOK_AHEAD: case SETFEAT_DISABLE_READ_LOOK_AHEAD:
      case SETFEAT_ENABLE_REVERT_TO_DEFAULTS: case SETFEAT_DISABLE_REVERT_TO_DEFAULTS:
        return this.completeOk();
      default:
        return this.abort(`SET FEATURES subcommand 0x${this.feature.toString(16)}`);
    }
  }

  private abort(why: string): void {
    this.misuse(`${why}: aborted`);
    this.completeError(ATA_ER_ABRT);
  }

  // ---- reset and state -----------------------------------------------------------------------

  /** @inheritdoc */
  protected resetSettings(kind: IdeResetKind): void {
    this.power = 'active';
    if (kind === 'power-on' || kind === 'hard') {
      this.multSectors = ATA_MAX_MULT_SECTORS;
      this.writeCache = true;
      this.transferMode.reset();
      this.curHeads = this.geometry.heads;
      this.curSectors = this.geometry.sectorsPerTrack;
    }
  }

  /** `{ v: 1, kind: 'ata', regs, multSectors, writeCache, curHeads, curSectors, power, transferMode }`. */
  saveState(): Record<string, unknown> {
    return {
      v: 1, kind: 'ata', regs: this.saveRegs(), multSectors: this.multSectors, writeCache: this.writeCache,
      curHeads: this.curHeads, curSectors: this.curSectors, power: this.power, transferMode: this.transferMode.save(),
    };
  }

  /** @inheritdoc */
  parseState(state: unknown): () => boolean {
    const where = this.id;
    const s = obj(where, state);
    version(where, s, 1);
    if (s['kind'] !== 'ata') throw new Error(`${where}.kind: the state is not an ATA disk's`);
    const regs = this.parseRegs(`${where}.regs`, obj(`${where}.regs`, s['regs']));
    const mult = int(where, s, 'multSectors', 0, ATA_MAX_MULT_SECTORS);
    if ((mult & (mult - 1)) !== 0) throw new Error(`${where}.multSectors: not a power of two`);
    const wc = bool(where, s, 'writeCache');
    const heads = int(where, s, 'curHeads', 1, 16);
    const secs = int(where, s, 'curSectors', 1, 255);
    const power = s['power'];
    if (power !== 'active' && power !== 'idle' && power !== 'standby') throw new Error(`${where}.power: bad value`);
    const tm = this.transferMode.parse(`${where}.transferMode`, s['transferMode']);
    return () => {
      this.multSectors = mult; this.writeCache = wc; this.curHeads = heads; this.curSectors = secs;
      this.power = power;
      tm();
      return regs();
    };
  }
}
