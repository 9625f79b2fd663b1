/**
 * Constants of the virtio 1.2 specification shared by the queue, the PCI transport and
 * the devices: device status bits (§2.1), reserved feature bits (§6), device ids (§5)
 * and the PCI identifiers QEMU gives virtio functions (hw/virtio/virtio-pci.c,
 * include/hw/pci/pci.h), which the virtio-win INF files match.
 */

/** Device status bits (virtio 1.2 §2.1). */
export const VIRTIO_STATUS_ACKNOWLEDGE = 0x01;
export const VIRTIO_STATUS_DRIVER = 0x02;
export const VIRTIO_STATUS_DRIVER_OK = 0x04;
export const VIRTIO_STATUS_FEATURES_OK = 0x08;
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 0x40;
export const VIRTIO_STATUS_FAILED = 0x80;

/** Reserved feature bits (virtio 1.2 §6), as bigint bit masks. */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 1n << 24n;
export const VIRTIO_F_ANY_LAYOUT = 1n << 27n;
export const VIRTIO_F_RING_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_F_RING_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;
export const VIRTIO_F_ACCESS_PLATFORM = 1n << 33n;
export const VIRTIO_F_RING_PACKED = 1n << 34n;

/** Device ids (virtio 1.2 §5). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;
export const VIRTIO_ID_BALLOON = 5;
export const VIRTIO_ID_SCSI = 8;
export const VIRTIO_ID_INPUT = 18;

/** PCI vendor id of virtio functions (Red Hat / Qumranet). */
export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** Modern-only PCI device ids are 0x1040 + virtio device id (virtio 1.2 §4.1.2.1). */
export const VIRTIO_PCI_MODERN_DEVICE_ID_BASE = 0x1040;

/** PCI identity of a virtio function: device id, class, subsystem, revision. */
export interface VirtioPciIdentity {
  readonly deviceId: number;
  readonly classCode: number;
  readonly subsystemId: number;
  readonly revision: number;
  /** Whether the function offers the legacy interface (I/O BAR0). */
  readonly transitional: boolean;
}

/**
 * Transitional PCI device ids (virtio 1.2 §4.1.2.3), by virtio device id. QEMU uses
 * these for its default ("transitional") devices, with revision 0 and subsystem id =
 * virtio device id; the virtio-win INFs match e.g. `VEN_1AF4&DEV_1000&SUBSYS_00011AF4`.
 */
export const VIRTIO_PCI_TRANSITIONAL_DEVICE_IDS: Readonly<Record<number, number>> = {
  [VIRTIO_ID_NET]: 0x1000,
  [VIRTIO_ID_BLOCK]: 0x1001,
  [VIRTIO_ID_BALLOON]: 0x1002,
  [VIRTIO_ID_CONSOLE]: 0x1003,
  [VIRTIO_ID_SCSI]: 0x1004,
  [VIRTIO_ID_RNG]: 0x1005,
};

/** PCI class codes QEMU gives each virtio device (24-bit: class, subclass, prog-if). */
export const VIRTIO_PCI_CLASS_CODES: Readonly<Record<number, number>> = {
  [VIRTIO_ID_NET]: 0x020000, // PCI_CLASS_NETWORK_ETHERNET
  [VIRTIO_ID_BLOCK]: 0x010000, // PCI_CLASS_STORAGE_SCSI
  [VIRTIO_ID_CONSOLE]: 0x078000, // PCI_CLASS_COMMUNICATION_OTHER
  [VIRTIO_ID_RNG]: 0x00ff00, // PCI_CLASS_OTHERS
  [VIRTIO_ID_BALLOON]: 0x00ff00, // PCI_CLASS_OTHERS
  [VIRTIO_ID_SCSI]: 0x010000, // PCI_CLASS_STORAGE_SCSI
  [VIRTIO_ID_INPUT]: 0x098000, // PCI_CLASS_INPUT_OTHER
};

/**
 * The PCI identity QEMU gives a virtio device: transitional ids (revision 0, subsystem id
 * = device type) where one exists, else the modern id 0x1040 + type (revision 1,
 * subsystem id 0x1100 as every QEMU PCI device).
 */
export function virtioPciIdentity(deviceType: number): VirtioPciIdentity {
  const classCode = VIRTIO_PCI_CLASS_CODES[deviceType] ?? 0x00ff00;
  const transitional = VIRTIO_PCI_TRANSITIONAL_DEVICE_IDS[deviceType];
  if (transitional !== undefined) {
    return { deviceId: transitional, classCode, subsystemId: deviceType, revision: 0, transitional: true };
  }
  return { deviceId: VIRTIO_PCI_MODERN_DEVICE_ID_BASE + deviceType, classCode, subsystemId: 0x1100, revision: 1, transitional: false };
}
