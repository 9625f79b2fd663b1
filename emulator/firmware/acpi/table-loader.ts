/**
 * The fw_cfg files that hand our ACPI tables to SeaBIOS/OVMF: `etc/acpi/tables`,
 * `etc/acpi/rsdp` and `etc/table-loader` (QEMU hw/i386/acpi-build.c acpi_setup).
 * The command format is described in bios-linker.ts.
 */
import { ACPI_RSDP_FILE, ACPI_TABLES_FILE, TABLE_LOADER_FILE } from './bios-linker.js';
import type { AcpiConfig } from './config.js';
import { buildAcpiTables, type AcpiBuild } from './tables.js';

export * from './bios-linker.js';

/** A named blob for the board to add to fw_cfg. */
export interface FwCfgFile {
  name: string;
  bytes: Uint8Array;
}

/** The fw_cfg files that carry the ACPI tables. */
export interface AcpiFwCfgFiles {
  files: FwCfgFile[];
  /** The build behind them (offsets of each table), for diagnostics and tests. */
  build: AcpiBuild;
}

/**
 * Builds the tables for `config` and returns `etc/acpi/tables`, `etc/acpi/rsdp` and
 * `etc/table-loader`, ready for fw_cfg (SeaBIOS and OVMF both consume them).
 */
export function buildAcpiFwCfgFiles(config: AcpiConfig): AcpiFwCfgFiles {
  const build = buildAcpiTables(config);
  return {
    build,
    files: [
      { name: ACPI_TABLES_FILE, bytes: build.tables },
      { name: ACPI_RSDP_FILE, bytes: build.rsdp },
      { name: TABLE_LOADER_FILE, bytes: build.linker.encode() },
    ],
  };
}
