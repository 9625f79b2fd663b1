/**
 * Public entry of the ACPI table builder: configuration, the fw_cfg files for SeaBIOS and
 * OVMF (`etc/acpi/tables`, `etc/acpi/rsdp`, `etc/table-loader`), and the loader
 * interpreter used by tests and diagnostics. See tables.ts and dsdt.ts for what the
 * tables contain (ACPI 6.5 chapter 5, QEMU pc layout).
 */
export type { AcpiConfig, AddressWindow, ResolvedAcpiConfig } from './config.js';
export { resolveAcpiConfig, DEFAULT_PCI_HOLE32 } from './config.js';
export { buildAcpiFwCfgFiles, ACPI_RSDP_FILE, ACPI_TABLES_FILE, TABLE_LOADER_FILE, type AcpiFwCfgFiles, type FwCfgFile } from './table-loader.js';
export { buildAcpiTables, HPET_EVENT_TIMER_BLOCK_ID, type AcpiBuild, type TablePlacement } from './tables.js';
export { runTableLoader, type LoaderResult } from './loader-interpreter.js';
