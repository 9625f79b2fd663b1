/**
 * Register offsets, bit names and command opcodes of the ATA interface, as named by
 * ATA/ATAPI-6 (T13 1410D revision 3b): section 7 (register descriptions: Status 7.15,
 * Error 7.11, Device Control 7.9, Device/Head 7.10), section 8 (command descriptions,
 * opcodes in table E.2) and section 9 (protocols, the interrupt reason of the PACKET
 * protocol in 9.8). The SCSI/MMC sense codes used by ATAPI devices are in
 * `atapi-sense.ts`.
 *
 * Left out: opcodes of feature sets Vireo does not implement (SMART, security, HPA,
 * streaming, NCQ, media card pass-through); their commands abort like on a device
 * without the feature set.
 */

/** Command block register offsets (from the base of the 8-port block, e.g. 1F0h). */
export const ATA_REG_DATA = 0;
/** Error on read, Features on write. */
export const ATA_REG_ERROR = 1;
export const ATA_REG_FEATURES = 1;
/** Sector Count (the interrupt reason on ATAPI devices during PACKET). */
export const ATA_REG_NSECTOR = 2;
/** LBA Low (Sector Number in CHS mode). */
export const ATA_REG_LBA_LOW = 3;
/** LBA Mid (Cylinder Low); the ATAPI byte count low. */
export const ATA_REG_LBA_MID = 4;
/** LBA High (Cylinder High); the ATAPI byte count high. */
export const ATA_REG_LBA_HIGH = 5;
/** Device/Head. */
export const ATA_REG_DEVICE = 6;
/** Status on read, Command on write. */
export const ATA_REG_STATUS = 7;
export const ATA_REG_COMMAND = 7;

/** Status register bits (ATA-6 7.15.6). */
export const ATA_SR_BSY = 0x80;
export const ATA_SR_DRDY = 0x40;
/** Device Fault (DF). */
export const ATA_SR_DF = 0x20;
/** Device Seek Complete (DSC, obsolete in ATA-6 but still reported by QEMU and real disks). */
export const ATA_SR_DSC = 0x10;
export const ATA_SR_DRQ = 0x08;
/** Corrected data (obsolete). */
export const ATA_SR_CORR = 0x04;
/** Index (obsolete). */
export const ATA_SR_IDX = 0x02;
export const ATA_SR_ERR = 0x01;

/** Error register bits (ATA-6 7.11). */
export const ATA_ER_ICRC = 0x80;
/** Uncorrectable data error. */
export const ATA_ER_UNC = 0x40;
/** Media changed (removable media). */
export const ATA_ER_MC = 0x20;
/** ID not found: the address lies outside the user-accessible range. */
export const ATA_ER_IDNF = 0x10;
/** Media change request. */
export const ATA_ER_MCR = 0x08;
/** Command aborted. */
export const ATA_ER_ABRT = 0x04;
export const ATA_ER_TK0NF = 0x02;
export const ATA_ER_AMNF = 0x01;

/** Device Control register bits (ATA-6 7.9). */
export const ATA_DC_HOB = 0x80;
/** Software reset. */
export const ATA_DC_SRST = 0x04;
/** Interrupt disable (INTRQ is released while set). */
export const ATA_DC_NIEN = 0x02;

/** Device/Head register bits (ATA-6 7.10). */
export const ATA_DEV_LBA = 0x40;
/** Device select: 0 = device 0 (master), 1 = device 1 (slave). */
export const ATA_DEV_DEV = 0x10;
/** Bits 7 and 5 are obsolete and read back as written; QEMU keeps them set. */
export const ATA_DEV_OBS = 0xa0;
/** Head number (CHS) or LBA bits 27:24. */
export const ATA_DEV_HEAD = 0x0f;

/** Interrupt reason bits in the Sector Count register (ATA-6 9.8, PACKET protocol). */
export const ATAPI_IR_COD = 0x01;
export const ATAPI_IR_IO = 0x02;
export const ATAPI_IR_REL = 0x04;

/** Features register bits of the PACKET command. */
export const ATAPI_FEAT_DMA = 0x01;
export const ATAPI_FEAT_OVL = 0x02;

/** Command opcodes (ATA-6 table E.2). */
export const ATA_CMD = {
  NOP: 0x00,
  DEVICE_RESET: 0x08,
  RECALIBRATE: 0x10,
  READ_SECTORS: 0x20,
  READ_SECTORS_NORETRY: 0x21,
  READ_SECTORS_EXT: 0x24,
  READ_DMA_EXT: 0x25,
  READ_NATIVE_MAX_ADDRESS_EXT: 0x27,
  READ_MULTIPLE_EXT: 0x29,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_NORETRY: 0x31,
  WRITE_SECTORS_EXT: 0x34,
  WRITE_DMA_EXT: 0x35,
  WRITE_MULTIPLE_EXT: 0x39,
  READ_VERIFY_SECTORS: 0x40,
  READ_VERIFY_SECTORS_NORETRY: 0x41,
  READ_VERIFY_SECTORS_EXT: 0x42,
  SEEK: 0x70,
  EXECUTE_DEVICE_DIAGNOSTIC: 0x90,
  INITIALIZE_DEVICE_PARAMETERS: 0x91,
  PACKET: 0xa0,
  IDENTIFY_PACKET_DEVICE: 0xa1,
  READ_MULTIPLE: 0xc4,
  WRITE_MULTIPLE: 0xc5,
  SET_MULTIPLE_MODE: 0xc6,
  READ_DMA: 0xc8,
  READ_DMA_NORETRY: 0xc9,
  WRITE_DMA: 0xca,
  WRITE_DMA_NORETRY: 0xcb,
  STANDBY_IMMEDIATE: 0xe0,
  IDLE_IMMEDIATE: 0xe1,
  STANDBY: 0xe2,
  IDLE: 0xe3,
  CHECK_POWER_MODE: 0xe5,
  SLEEP: 0xe6,
  FLUSH_CACHE: 0xe7,
  FLUSH_CACHE_EXT: 0xea,
  IDENTIFY_DEVICE: 0xec,
  SET_FEATURES: 0xef,
  READ_NATIVE_MAX_ADDRESS: 0xf8,
} as const;

/** SET FEATURES subcommands (ATA-6 8.36, table 33). */
export const SETFEAT_ENABLE_WRITE_CACHE = 0x02;
export const SETFEAT_SET_TRANSFER_MODE = 0x03;
export const SETFEAT_DISABLE_REVERT_TO_DEFAULTS = 0x66;
export const SETFEAT_DISABLE_WRITE_CACHE = 0x82;
export const SETFEAT_DISABLE_READ_LOOK_AHEAD = 0x55;
export const SETFEAT_ENABLE_READ_LOOK_AHEAD = 0xaa;
export const SETFEAT_ENABLE_REVERT_TO_DEFAULTS = 0xcc;

/** Bytes in an ATA logical sector. */
export const ATA_SECTOR_BYTES = 512;
/** Largest SET MULTIPLE block (sectors), IDENTIFY word 47. QEMU's MAX_MULT_SECTORS. */
export const ATA_MAX_MULT_SECTORS = 16;
/** Signature left in LBA Mid/High by ATAPI devices after reset (ATA-6 9.12). */
export const ATAPI_SIGNATURE_MID = 0x14;
export const ATAPI_SIGNATURE_HIGH = 0xeb;
