/**
 * INQUIRY data of the SCSI target (SPC-4 §6.6): the standard data (§6.6.2) and the
 * vital product data pages (§7.8): 00h supported pages (§7.8.13), 80h unit serial
 * number (§7.8.15), 83h device identification (§7.8.6), and for a direct-access device
 * B0h block limits (SBC-3 §6.5.3), B1h block device characteristics (SBC-3 §6.5.2) and
 * B2h logical block provisioning (SBC-3 §6.5.4). Strings and flags follow QEMU's
 * scsi-disk so guests see familiar values: vendor "QEMU", products "QEMU HARDDISK" /
 * "QEMU CD-ROM", version 5 (SPC-3), response data format 2 with HISUP, CMDQUE.
 *
 * Left out: version descriptors, the NAA / WWN designator, the extended INQUIRY page.
 */
import { putBe } from './scsi-cdb.js';

/** Peripheral device types (SPC-4 §6.6.2 table 141). */
export const PERIPHERAL_TYPE_DISK = 0x00;
export const PERIPHERAL_TYPE_CDROM = 0x05;
/** Peripheral qualifier 011b + type 1Fh: no logical unit at this LUN (SPC-4 §6.6.2). */
export const PERIPHERAL_NOT_PRESENT = 0x7f;

/** Length of the standard INQUIRY data the target returns. */
export const STANDARD_INQUIRY_BYTES = 36;

/** The identity strings of a logical unit. */
export interface InquiryIdentity {
  /** T10 vendor identification, 8 ASCII characters ("QEMU"). */
  readonly vendor: string;
  /** Product identification, 16 characters ("QEMU HARDDISK"). */
  readonly product: string;
  /** Product revision level, 4 characters. */
  readonly revision: string;
  /** Unit serial number (VPD 80h; up to 20 ASCII characters). */
  readonly serial: string;
}

function ascii(text: string, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < len; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x20;
    out.push(c >= 0x20 && c < 0x7f ? c : 0x20);
  }
  return out;
}

/**
 * Standard INQUIRY data (SPC-4 §6.6.2), 36 bytes: peripheral type, RMB for removable
 * media, VERSION 5 (SPC-3), RESPONSE DATA FORMAT 2 with HISUP, CMDQUE, then the vendor,
 * product and revision fields padded with spaces.
 */
export function standardInquiry(peripheralType: number, removable: boolean, id: InquiryIdentity): Uint8Array {
  const b = new Uint8Array(STANDARD_INQUIRY_BYTES);
  b[0] = peripheralType & 0xff;
  b[1] = removable ? 0x80 : 0;
  b[2] = 0x05;
  b[3] = 0x10 | 0x02;
  b[4] = STANDARD_INQUIRY_BYTES - 5;
  b[7] = 0x02; // CMDQUE: the transport queues commands (virtio-scsi has tags)
  b.set(ascii(id.vendor, 8), 8);
  b.set(ascii(id.product, 16), 16);
  b.set(ascii(id.revision, 4), 32);
  return b;
}

/** Standard INQUIRY data for a LUN with no logical unit: qualifier 011b, type 1Fh. */
export function notPresentInquiry(): Uint8Array {
  const b = new Uint8Array(STANDARD_INQUIRY_BYTES);
  b[0] = PERIPHERAL_NOT_PRESENT;
  b[2] = 0x05;
  b[3] = 0x12;
  b[4] = STANDARD_INQUIRY_BYTES - 5;
  return b;
}

function page(peripheralType: number, code: number, body: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 + body.length);
  b[0] = peripheralType & 0x1f;
  b[1] = code;
  putBe(b, 2, 2, body.length);
  b.set(body, 4);
  return b;
}

/** VPD page 00h: the supported page codes, ascending (SPC-4 §7.8.13). */
export function supportedPagesPage(peripheralType: number, pages: readonly number[]): Uint8Array {
  return page(peripheralType, 0x00, [...pages].sort((a, b) => a - b));
}

/** VPD page 80h: the unit serial number (SPC-4 §7.8.15). */
export function unitSerialPage(peripheralType: number, id: InquiryIdentity): Uint8Array {
  return page(peripheralType, 0x80, ascii(id.serial, Math.min(id.serial.length, 20)));
}

/**
 * VPD page 83h (SPC-4 §7.8.6): a vendor-specific ASCII designator holding the serial
 * (QEMU's), then a T10 vendor ID based designator: vendor (8) + product (16) + serial.
 * Both are associated with the logical unit.
 */
export function deviceIdentificationPage(peripheralType: number, id: InquiryIdentity): Uint8Array {
  const serial = ascii(id.serial, Math.min(id.serial.length, 20));
  const t10 = [...ascii(id.vendor, 8), ...ascii(id.product, 16), ...serial];
  return page(peripheralType, 0x83, [
    0x02, 0x00, 0x00, serial.length, ...serial, // code set ASCII, designator type 0 (vendor specific)
    0x02, 0x01, 0x00, t10.length, ...t10, // code set ASCII, designator type 1 (T10 vendor ID)
  ]);
}

/** Values of the block limits page. */
export interface BlockLimits {
  /** Largest READ/WRITE transfer, in logical blocks. */
  readonly maxTransferBlocks: number;
  /** Largest UNMAP range sum and WRITE SAME length, in blocks (0: no unmap). */
  readonly maxUnmapBlocks: number;
  /** Largest number of UNMAP block descriptors (0: no unmap). */
  readonly maxUnmapDescriptors: number;
  /** Largest WRITE SAME number of logical blocks. */
  readonly maxWriteSameBlocks: number;
}

/**
 * VPD page B0h, block limits (SBC-3 §6.5.3, 3Ch bytes): WSNZ (a WRITE SAME of zero
 * blocks is refused), maximum / optimal transfer lengths, maximum UNMAP LBA count and
 * descriptor count, unmap granularity 1, maximum WRITE SAME length.
 */
export function blockLimitsPage(l: BlockLimits): Uint8Array {
  const body = new Uint8Array(0x3c);
  body[0] = 0x01; // WSNZ
  putBe(body, 2, 2, 1); // optimal transfer length granularity
  putBe(body, 4, 4, l.maxTransferBlocks);
  putBe(body, 8, 4, l.maxTransferBlocks); // optimal transfer length
  putBe(body, 16, 4, l.maxUnmapBlocks);
  putBe(body, 20, 4, l.maxUnmapDescriptors);
  if (l.maxUnmapBlocks > 0) putBe(body, 24, 4, 1); // optimal unmap granularity
  putBe(body, 32, 8, l.maxWriteSameBlocks);
  return page(PERIPHERAL_TYPE_DISK, 0xb0, [...body]);
}

/** VPD page B1h, block device characteristics (SBC-3 §6.5.2): rotation rate and form factor not reported. */
export function blockCharacteristicsPage(): Uint8Array {
  return page(PERIPHERAL_TYPE_DISK, 0xb1, new Array<number>(0x3c).fill(0));
}

/**
 * VPD page B2h, logical block provisioning (SBC-3 §6.5.4): with `unmap`, LBPU (UNMAP),
 * LBPWS and LBPWS10 (WRITE SAME with UNMAP) and provisioning type thin; without it, the
 * disk is fully provisioned and none of the commands is offered.
 */
export function provisioningPage(unmap: boolean): Uint8Array {
  return page(PERIPHERAL_TYPE_DISK, 0xb2, [0x00, unmap ? 0xe0 : 0x00, unmap ? 0x02 : 0x00, 0x00]);
}
