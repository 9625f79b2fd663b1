/**
 * Builds small install-media look-alikes at test time with `xorriso -as mkisofs` (Debian
 * package `xorriso`): a label, a few files, Rock Ridge + Joliet names. Nothing is committed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why ISO-building tests are skipped here, or null. */
export function xorrisoSkipReason(): string | null {
  return existsSync('/usr/bin/xorriso') ? null : '/usr/bin/xorriso is missing: apt-get install xorriso';
}

/** Options of {@link makeIso}. */
export interface MakeIsoOptions {
  /** Volume label (`-V`). */
  label: string;
  /** Files to put on the media: relative path -> contents. */
  files: Record<string, string | Uint8Array>;
  /** PVD publisher (`-publisher`). */
  publisher?: string;
  /** Add Joliet names (default true). */
  joliet?: boolean;
  /** Add Rock Ridge names (default true). */
  rockRidge?: boolean;
}

/** Writes an ISO image at `isoPath` with xorriso; resolves to `isoPath`. */
export async function makeIso(isoPath: string, options: MakeIsoOptions): Promise<string> {
  const tree = await mkdtemp(path.join(os.tmpdir(), 'vireo-isotree-'));
  try {
    for (const [rel, body] of Object.entries(options.files)) {
      const file = path.join(tree, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, body);
    }
    const args = ['-as', 'mkisofs', '-quiet', '-V', options.label, '-o', isoPath];
    if (options.rockRidge !== false) args.push('-r');
    if (options.joliet !== false) args.push('-J');
    if (options.publisher) args.push('-publisher', options.publisher);
    args.push(tree);
    await run('xorriso', args);
    return isoPath;
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

/** A Windows-11-like ISO: label CCCOMA_X64FRE_EN-US_DV9 and a placeholder sources/install.wim. */
export function makeWindowsLikeIso(isoPath: string): Promise<string> {
  return makeIso(isoPath, {
    label: 'CCCOMA_X64FRE_EN-US_DV9',
    publisher: 'MICROSOFT CORPORATION',
    files: {
      'sources/install.wim': 'placeholder install.wim\n',
      'sources/boot.wim': 'placeholder boot.wim\n',
      'bootmgr': 'placeholder\n',
      'efi/boot/bootx64.efi': 'placeholder\n',
    },
  });
}

/** A Debian-12-like netinst ISO: label and `.disk/info`. */
export function makeDebianLikeIso(isoPath: string): Promise<string> {
  return makeIso(isoPath, {
    label: 'Debian 12.5.0 amd64 n',
    files: {
      '.disk/info': 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 NETINST with firmware 20240210-11:27\n',
      'isolinux/isolinux.cfg': 'default vesamenu.c32\n',
      'EFI/boot/bootx64.efi': 'placeholder\n',
    },
  });
}
