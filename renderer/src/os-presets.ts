/**
 * A short list of OS presets for the "New VM" dialog, with sensible defaults. The full
 * wizard (osinfo-db, install media detection) replaces this in a later issue.
 */

/** One OS choice. */
export interface OsPreset {
  /** Stable id stored in the VM config (`os.id`). */
  id: string;
  /** Display name stored in the VM config (`os.name`). */
  name: string;
  /** Default memory (MiB). */
  memoryMiB: number;
  /** Default virtual CPUs. */
  cpus: number;
  /** Firmware the OS needs. */
  firmware: 'bios' | 'uefi';
}

/** The presets, in display order. */
export const OS_PRESETS: readonly OsPreset[] = [
  { id: 'debian13', name: 'Debian 13', memoryMiB: 2048, cpus: 2, firmware: 'bios' },
  { id: 'ubuntu24.04', name: 'Ubuntu 24.04 LTS', memoryMiB: 4096, cpus: 2, firmware: 'bios' },
  { id: 'fedora42', name: 'Fedora 42', memoryMiB: 4096, cpus: 2, firmware: 'bios' },
  { id: 'alpinelinux3.22', name: 'Alpine Linux 3.22', memoryMiB: 512, cpus: 1, firmware: 'bios' },
  { id: 'win11', name: 'Windows 11', memoryMiB: 4096, cpus: 2, firmware: 'uefi' },
  { id: 'win10', name: 'Windows 10', memoryMiB: 4096, cpus: 2, firmware: 'bios' },
  { id: 'freedos1.3', name: 'FreeDOS 1.3', memoryMiB: 64, cpus: 1, firmware: 'bios' },
  { id: 'generic', name: 'Other', memoryMiB: 1024, cpus: 1, firmware: 'bios' },
];

/** The preset with `id`, or the generic one. */
export function presetById(id: string): OsPreset {
  return OS_PRESETS.find((p) => p.id === id) ?? (OS_PRESETS[OS_PRESETS.length - 1] as OsPreset);
}
