import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoInspection } from '../../../protocol/index.js';
import { IsoImage, NotIsoError, inspectIso, listPresets, parseOsinfoXml, parseTreeinfo } from './index.js';
import { makeDebianLikeIso, makeIso, makeWindowsLikeIso, xorrisoSkipReason } from './test-support/make-iso.js';

const skip = xorrisoSkipReason();

/**
 * A synthetic UDF bridge image like Windows media: an ISO 9660 PVD with a generic label and
 * an empty root, the UDF volume recognition sequence, an anchor at sector 256 and a main
 * volume descriptor sequence whose Logical Volume Descriptor carries the real label.
 */
function udfBridgeImage(isoLabel: string, udfLabel: string, withTree = false): Buffer {
  const S = 2048;
  const img = Buffer.alloc(300 * S);
  const sector = (n: number): Buffer => img.subarray(n * S, (n + 1) * S);
  const dirRecord = (buf: Buffer, off: number, lba: number, name: number): void => {
    buf[off] = 34;
    buf.writeUInt32LE(lba, off + 2);
    buf.writeUInt32BE(lba, off + 6);
    buf.writeUInt32LE(S, off + 10);
    buf.writeUInt32BE(S, off + 14);
    buf[off + 25] = 2;
    buf[off + 32] = 1;
    buf[off + 33] = name;
  };
  const pvd = sector(16);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.write(isoLabel.padEnd(32, ' '), 40, 'latin1');
  pvd.writeUInt32LE(300, 80);
  pvd.writeUInt16LE(S, 128);
  dirRecord(pvd, 156, 22, 0);
  const term = sector(17);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  sector(18).write('\0BEA01', 0, 'latin1');
  sector(19).write('\0NSR02', 0, 'latin1');
  sector(20).write('\0TEA01', 0, 'latin1');
  dirRecord(sector(22), 0, 22, 0);
  dirRecord(sector(22), 34, 22, 1);
  const dstring = (buf: Buffer, off: number, len: number, text: string): void => {
    buf[off] = 8;
    buf.write(text, off + 1, 'latin1');
    buf[off + len - 1] = text.length + 1;
  };
  const avdp = sector(256);
  avdp.writeUInt16LE(2, 0);
  avdp.writeUInt32LE(4 * S, 16);
  avdp.writeUInt32LE(257, 20);
  sector(257).writeUInt16LE(1, 0);
  dstring(sector(257), 24, 32, udfLabel.slice(0, 30));
  const lvd = sector(258);
  lvd.writeUInt16LE(6, 0);
  dstring(lvd, 84, 128, udfLabel);
  if (!withTree) {
    sector(259).writeUInt16LE(8, 0);
    return img;
  }
  // One type-1 partition from sector 270: FSD at block 0, then the tree
  // / -> sources/ -> install.wim (short_ad File Entries, File Identifier Descriptors).
  lvd.writeUInt32LE(S, 212);
  lvd.writeUInt32LE(S, 248);
  lvd.writeUInt32LE(0, 252);
  lvd.writeUInt32LE(6, 264);
  lvd.writeUInt32LE(1, 268);
  lvd[440] = 1;
  lvd[441] = 6;
  const pd = sector(259);
  pd.writeUInt16LE(5, 0);
  pd.writeUInt32LE(270, 188);
  pd.writeUInt32LE(30, 192);
  sector(260).writeUInt16LE(8, 0);
  const block = (n: number): Buffer => sector(270 + n);
  const fsd = block(0);
  fsd.writeUInt16LE(256, 0);
  fsd.writeUInt32LE(S, 400);
  fsd.writeUInt32LE(1, 404);
  const fileEntry = (n: number, dataLbn: number, size: number): void => {
    const fe = block(n);
    fe.writeUInt16LE(261, 0);
    fe.writeUInt16LE(0, 34); // short_ad
    fe.writeBigUInt64LE(BigInt(size), 56);
    fe.writeUInt32LE(0, 168);
    fe.writeUInt32LE(8, 172);
    fe.writeUInt32LE(size, 176);
    fe.writeUInt32LE(dataLbn, 180);
  };
  const fids = (n: number, entries: { name: string; dir: boolean; icb: number }[]): number => {
    const buf = block(n);
    let off = 0;
    for (const e of [{ name: '', dir: true, icb: 1, parent: true }, ...entries.map((x) => ({ ...x, parent: false }))]) {
      const lFi = e.name ? e.name.length + 1 : 0;
      buf.writeUInt16LE(257, off);
      buf[off + 18] = (e.dir ? 0x02 : 0) | (e.parent ? 0x08 : 0);
      buf[off + 19] = lFi;
      buf.writeUInt32LE(S, off + 20);
      buf.writeUInt32LE(e.icb, off + 24);
      buf.writeUInt16LE(0, off + 36);
      if (lFi) {
        buf[off + 38] = 8;
        buf.write(e.name, off + 39, 'latin1');
      }
      off += (38 + lFi + 3) & ~3;
    }
    return off;
  };
  fileEntry(1, 2, fids(2, [{ name: 'sources', dir: true, icb: 3 }]));
  fileEntry(3, 4, fids(4, [{ name: 'install.wim', dir: false, icb: 5 }]));
  fileEntry(5, 6, 12);
  block(6).write('WIM placeholder', 0, 'latin1');
  return img;
}

describe.skipIf(skip !== null)('os-detect on generated ISOs', () => {
  let dir: string;
  let winIso: string;
  let debIso: string;
  let osinfoFixture: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vireo-osdetect-'));
    winIso = await makeWindowsLikeIso(path.join(dir, 'win.iso'));
    debIso = await makeDebianLikeIso(path.join(dir, 'debian.iso'));
    // A tiny osinfo-db look-alike: two Windows entries sharing a label regex, as the real one has.
    osinfoFixture = path.join(dir, 'osinfo');
    await mkdir(path.join(osinfoFixture, 'os', 'microsoft.com'), { recursive: true });
    const entry = (id: string, short: string, name: string, date: string): string => `<?xml version="1.0"?>
<libosinfo version="0.0.1"><os id="${id}"><short-id>${short}</short-id><name>${name}</name><name xml:lang="de">X</name>
<family>winnt</family><release-date>${date}</release-date>
<media arch="x86_64"><iso><volume-id>^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_</volume-id><publisher-id>MICROSOFT CORPORATION</publisher-id></iso></media>
<media arch="aarch64"><iso><volume-id>.*</volume-id></iso></media>
<resources arch="x86_64"><minimum><n-cpus>2</n-cpus><ram>4294967296</ram><storage>68719476736</storage></minimum></resources>
</os></libosinfo>`;
    await writeFile(path.join(osinfoFixture, 'os', 'microsoft.com', 'win-10.xml'), entry('http://microsoft.com/win/10', 'win10', 'Microsoft Windows 10', '2015-07-29'));
    await writeFile(path.join(osinfoFixture, 'os', 'microsoft.com', 'win-11.xml'), entry('http://microsoft.com/win/11', 'win11', 'Microsoft Windows 11', '2021-10-05'));
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads the PVD label, Joliet and Rock Ridge names and walks the tree', async () => {
    const img = await IsoImage.open(winIso);
    try {
      expect(img.info.isoLabel).toBe('CCCOMA_X64FRE_EN-US_DV9');
      expect(img.info.jolietLabel).toBe('CCCOMA_X64FRE_EN-US_DV9'.slice(0, 16));
      expect(img.info.publisherId).toBe('MICROSOFT CORPORATION');
      expect(img.info.hasUdf).toBe(false);
      const wim = await img.find('SOURCES/install.WIM');
      expect(wim).toMatchObject({ isDir: false, sizeBytes: 'placeholder install.wim\n'.length });
      expect((await img.readFile(wim!)).toString()).toBe('placeholder install.wim\n');
      expect(await img.find('sources/nope.wim')).toBeNull();
    } finally {
      await img.close();
    }
  });

  it('finds dot-directories without Joliet or Rock Ridge (".disk" is "_DISK" in plain ISO 9660)', async () => {
    const plain = await makeIso(path.join(dir, 'plain.iso'), {
      label: 'PLAIN', joliet: false, rockRidge: false, files: { '.disk/info': 'Debian GNU/Linux 13.0.0 "Trixie"\n' },
    });
    const img = await IsoImage.open(plain);
    try {
      const info = await img.find('.disk/info');
      expect(info).not.toBeNull();
      expect((await img.readFile(info!)).toString()).toMatch(/^Debian GNU\/Linux 13/);
    } finally {
      await img.close();
    }
  });

  it('detects the Windows-like ISO as Windows 11 from the presets (label + install.wim)', async () => {
    const r = IsoInspection.parse(await inspectIso(winIso, { osinfoDir: null }));
    expect(r.label).toBe('CCCOMA_X64FRE_EN-US_DV9');
    expect(r.files).toEqual(expect.arrayContaining(['sources/install.wim', 'sources/boot.wim', 'EFI']));
    expect(r.os).toMatchObject({ id: 'win11', name: 'Microsoft Windows 11', source: 'presets', confidence: 'high' });
    expect(r.os?.preset).toMatchObject({ cpus: 4, memoryMiB: 8192, diskGiB: 128, tpm: 'required', virtioDrivers: 'needed' });
  });

  it('detects it through osinfo-db when present, preferring the newest match and naming the others', async () => {
    const r = await inspectIso(winIso, { osinfoDir: osinfoFixture });
    expect(r.os).toMatchObject({ id: 'win11', source: 'osinfo', confidence: 'medium' });
    expect(r.os?.preset.memoryMiB).toBe(8192); // Vireo's own recommendation for win11
    expect(r.alternatives).toEqual([{ id: 'win10', name: 'Microsoft Windows 10' }]);
    expect(r.warnings.join('\n')).toMatch(/also matches Microsoft Windows 10/);
  });

  it.skipIf(!existsSync('/usr/share/osinfo/os'))('matches the installed osinfo-db too', async () => {
    const r = await inspectIso(winIso);
    expect(r.os).toMatchObject({ id: 'win11', source: 'osinfo' });
  });

  it('reads the UDF label of a UDF bridge image (Windows media) and detects from it', async () => {
    const file = path.join(dir, 'udf.iso');
    await writeFile(file, udfBridgeImage('DVD_ROM', 'CCCOMA_X64FRE_EN-US_DV9'));
    const img = await IsoImage.open(file);
    expect(img.info).toMatchObject({ isoLabel: 'DVD_ROM', udfLabel: 'CCCOMA_X64FRE_EN-US_DV9', hasUdf: true });
    await img.close();
    const r = await inspectIso(file, { osinfoDir: null });
    expect(r.label).toBe('CCCOMA_X64FRE_EN-US_DV9');
    expect(r.labels).toEqual({ iso: 'DVD_ROM', joliet: null, udf: 'CCCOMA_X64FRE_EN-US_DV9' });
    expect(r.os).toMatchObject({ id: 'win11', confidence: 'medium', source: 'presets' });
    expect(r.warnings).toEqual([]); // Windows keeps install.wim in UDF only: no "missing" warning
  });

  it('walks the UDF tree when the ISO 9660 side shows nothing (real Windows media)', async () => {
    const file = path.join(dir, 'udf-tree.iso');
    await writeFile(file, udfBridgeImage('CCCOMA_X64FRE_EN-US_DV9', 'CCCOMA_X64FRE_EN-US_DV9', true));
    const img = await IsoImage.open(file);
    try {
      expect(img.hasUdfTree).toBe(true);
      const wim = await img.find('Sources/INSTALL.WIM');
      expect(wim).toMatchObject({ isDir: false, sizeBytes: 12, lba: 276 });
      expect((await img.readFile(wim!)).toString('latin1')).toBe('WIM placehol');
      expect(await img.find('sources/install.esd')).toBeNull();
      expect(await img.find('sources')).toMatchObject({ isDir: true });
    } finally {
      await img.close();
    }
    const r = await inspectIso(file, { osinfoDir: null });
    expect(r.files).toEqual(['sources/install.wim']);
    expect(r.os).toMatchObject({ id: 'win11', confidence: 'high' });
  });

  it('detects the Debian-like ISO from .disk/info', async () => {
    const r = await inspectIso(debIso, { osinfoDir: null });
    expect(r.files).toEqual(expect.arrayContaining(['.disk/info', 'isolinux', 'isolinux/isolinux.cfg', 'EFI']));
    expect(r.os).toMatchObject({ id: 'debian12', name: 'Debian 12', confidence: 'high', source: 'presets' });
    expect(r.os?.preset.virtioDrivers).toBe('builtin');
  });

  it('falls back to a family guess, and to nothing with a warning', async () => {
    const odd = await makeIso(path.join(dir, 'odd.iso'), { label: 'MYWIN', files: { 'sources/install.esd': 'x' } });
    expect((await inspectIso(odd, { osinfoDir: null })).os).toMatchObject({ id: 'win-generic', confidence: 'low' });
    const fedora = await makeIso(path.join(dir, 'fedora.iso'), {
      label: 'Some-Label', files: { '.treeinfo': '[general]\nname = Fedora\nversion = 42\n\n[release]\nname = Fedora\nversion = 42\n' },
    });
    expect((await inspectIso(fedora, { osinfoDir: null })).os).toMatchObject({ id: 'fedora42', confidence: 'high' });
    const data = await makeIso(path.join(dir, 'data.iso'), { label: 'BACKUP', files: { 'a.txt': 'a' } });
    const r = await inspectIso(data, { osinfoDir: null });
    expect(r.os).toBeNull();
    expect(r.warnings.join()).toMatch(/did not recognise the OS .*data\.iso \(label "BACKUP"\)/);
  });

  it('refuses an HTML page saved as .iso, naming the file and its first bytes', async () => {
    const html = path.join(dir, 'error.iso');
    await writeFile(html, '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>' + 'x'.repeat(40000) + '</body></html>');
    const err = await inspectIso(html).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotIsoError);
    expect((err as Error).message).toBe(`not an ISO 9660/UDF image: ${html} starts with "<!DOCTYPE html> <html><head><tit..." (no CD001/NSR volume descriptor at sector 16)`);
    const tiny = path.join(dir, 'tiny.iso');
    await writeFile(tiny, '<html>oops</html>');
    await expect(inspectIso(tiny)).rejects.toThrow(/not an ISO 9660\/UDF image: .*tiny\.iso starts with "<html>oops<\/html>" \(17 bytes is too small/);
  });
});

describe('os-detect pure parts', () => {
  it('loads the presets (Windows 11 as virt-manager recommends it)', () => {
    const presets = listPresets();
    expect(presets.find((p) => p.id === 'win11')).toMatchObject({ cpus: 4, memoryMiB: 8192, diskGiB: 128, firmware: 'uefi' });
    expect(new Set(presets.map((p) => p.id)).size).toBe(presets.length);
  });

  it('parses .treeinfo and osinfo XML', () => {
    expect(parseTreeinfo('[release]\nname = Fedora\nversion = 42\n')).toEqual({ name: 'Fedora', version: '42' });
    expect(parseTreeinfo('nothing')).toBeNull();
    const [o] = parseOsinfoXml('<os id="u"><short-id>x1</short-id><name>X &amp; Y</name><family>linux</family><firmware arch="x86_64" type="bios" supported="false"/></os>');
    expect(o).toMatchObject({ shortId: 'x1', name: 'X & Y', family: 'linux', efiOnly: true, media: [] });
  });
});
