/**
 * Register names and numbers of the IBM VGA and the Bochs VBE "DISPI" interface, plus the
 * identity of QEMU's standard VGA PCI function (1234:1111).
 *
 * Sources: IBM VGA Technical Reference (port map, sequencer / CRTC / graphics / attribute
 * register indices), Bochs `vbe_display_api.txt` (DISPI indices and enable bits), QEMU
 * `docs/specs/standard-vga.rst` (PCI identity and the MMIO BAR layout). Constants only.
 */

/** First I/O port of the VGA register block (0x3B0-0x3DF). The board registers VGA_IO_LENGTH ports there. */
export const VGA_IO_BASE = 0x3b0;
/** Number of I/O ports in the VGA register block. */
export const VGA_IO_LENGTH = 0x30;
/** Guest-physical base of the legacy memory window (0xA0000-0xBFFFF). */
export const VGA_LEGACY_GPA = 0xa0000;
/** Size of the legacy memory window in bytes. */
export const VGA_LEGACY_LENGTH = 0x20000;
/** Bochs DISPI index port; the data port follows at +1. The board registers DISPI_IO_LENGTH ports. */
export const DISPI_IO_BASE = 0x1ce;
/** Ports claimed for DISPI: index (0x1CE), data (0x1CF) and the high byte of a 16-bit data access (0x1D0). */
export const DISPI_IO_LENGTH = 3;

/** Size of the legacy planar view: 4 planes of 64 KiB. */
export const VGA_PLANAR_BYTES = 256 * 1024;
/** Default VRAM size (the PCI BAR0 size), as QEMU's `vgamem_mb=16`. */
export const VGA_DEFAULT_VRAM_BYTES = 16 * 1024 * 1024;

// Port offsets from VGA_IO_BASE.
/** CRTC index, monochrome decode (0x3B4). */
export const OFS_CRTC_INDEX_MONO = 0x04;
/** CRTC data, monochrome decode (0x3B5). */
export const OFS_CRTC_DATA_MONO = 0x05;
/** Input status 1 read / feature control write, monochrome (0x3BA). */
export const OFS_STATUS1_MONO = 0x0a;
/** Attribute controller index/data write (0x3C0). */
export const OFS_ATTR_INDEX = 0x10;
/** Attribute controller data read (0x3C1). */
export const OFS_ATTR_DATA_READ = 0x11;
/** Misc output write / input status 0 read (0x3C2). */
export const OFS_MISC_WRITE = 0x12;
/** Video subsystem enable (0x3C3). */
export const OFS_VIDEO_ENABLE = 0x13;
/** Sequencer index (0x3C4). */
export const OFS_SEQ_INDEX = 0x14;
/** Sequencer data (0x3C5). */
export const OFS_SEQ_DATA = 0x15;
/** DAC pixel mask (0x3C6). */
export const OFS_DAC_MASK = 0x16;
/** DAC read index write / DAC state read (0x3C7). */
export const OFS_DAC_READ_INDEX = 0x17;
/** DAC write index (0x3C8). */
export const OFS_DAC_WRITE_INDEX = 0x18;
/** DAC data (0x3C9). */
export const OFS_DAC_DATA = 0x19;
/** Feature control read (0x3CA). */
export const OFS_FEATURE_READ = 0x1a;
/** Misc output read (0x3CC). */
export const OFS_MISC_READ = 0x1c;
/** Graphics controller index (0x3CE). */
export const OFS_GC_INDEX = 0x1e;
/** Graphics controller data (0x3CF). */
export const OFS_GC_DATA = 0x1f;
/** CRTC index, colour decode (0x3D4). */
export const OFS_CRTC_INDEX_COLOR = 0x24;
/** CRTC data, colour decode (0x3D5). */
export const OFS_CRTC_DATA_COLOR = 0x25;
/** Input status 1 read / feature control write, colour (0x3DA). */
export const OFS_STATUS1_COLOR = 0x2a;

// Sequencer registers.
/** SR01 clocking mode. Bit 0: 8-dot characters; bit 3: dot clock / 2; bit 5: screen off. */
export const SR_CLOCK_MODE = 0x01;
/** SR02 map mask (plane write enable). */
export const SR_MAP_MASK = 0x02;
/** SR03 character map select. */
export const SR_CHAR_MAP = 0x03;
/** SR04 memory mode. Bit 2: odd/even disable; bit 3: chain 4. */
export const SR_MEMORY_MODE = 0x04;
/** SR04 bit 2: sequential addressing (odd/even off). */
export const SR04_ODD_EVEN_DISABLE = 0x04;
/** SR04 bit 3: chain 4. */
export const SR04_CHAIN4 = 0x08;
/** Writable bits of SR00-SR07 (others read as 0). */
export const SR_MASK: readonly number[] = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];

// Graphics controller registers.
/** GR00 set/reset. */
export const GR_SET_RESET = 0x00;
/** GR01 enable set/reset. */
export const GR_ENABLE_SET_RESET = 0x01;
/** GR02 colour compare. */
export const GR_COLOR_COMPARE = 0x02;
/** GR03 data rotate (bits 0-2) and function select (bits 3-4). */
export const GR_DATA_ROTATE = 0x03;
/** GR04 read map select. */
export const GR_READ_MAP = 0x04;
/** GR05 graphics mode: write mode (0-1), read mode (3), odd/even (4), shift (5-6). */
export const GR_MODE = 0x05;
/** GR06 miscellaneous: graphics (0), chain odd maps (1), memory map (2-3). */
export const GR_MISC = 0x06;
/** GR07 colour don't care. */
export const GR_COLOR_DONT_CARE = 0x07;
/** GR08 bit mask. */
export const GR_BIT_MASK = 0x08;
/** Writable bits of GR00-GR08. */
export const GR_MASK: readonly number[] = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff];

// CRTC registers.
/** CR01 horizontal display end (characters - 1). */
export const CR_H_DISPLAY_END = 0x01;
/** CR07 overflow. */
export const CR_OVERFLOW = 0x07;
/** CR08 preset row scan / byte panning. */
export const CR_PRESET_ROW = 0x08;
/** CR09 maximum scan line (bits 0-4), line compare bit 9 (6), double scan (7). */
export const CR_MAX_SCAN = 0x09;
/** CR0A cursor start (bit 5: cursor off). */
export const CR_CURSOR_START = 0x0a;
/** CR0B cursor end. */
export const CR_CURSOR_END = 0x0b;
/** CR0C start address high. */
export const CR_START_HI = 0x0c;
/** CR0D start address low. */
export const CR_START_LO = 0x0d;
/** CR0E cursor location high. */
export const CR_CURSOR_HI = 0x0e;
/** CR0F cursor location low. */
export const CR_CURSOR_LO = 0x0f;
/** CR11 vertical retrace end; bit 7 protects CR00-CR07. */
export const CR_V_RETRACE_END = 0x11;
/** CR11 bit 7: write protect CR00-CR07 (except CR07 bit 4). */
export const CR11_PROTECT = 0x80;
/** CR12 vertical display end (low 8 bits). */
export const CR_V_DISPLAY_END = 0x12;
/** CR13 offset (logical line width / 2 in address units). */
export const CR_OFFSET = 0x13;
/** CR14 underline location (bit 6: double-word mode). */
export const CR_UNDERLINE = 0x14;
/** CR17 mode control (bit 0: CGA compatibility, 1: Hercules, 6: byte/word). */
export const CR_MODE = 0x17;
/** CR18 line compare (low 8 bits). */
export const CR_LINE_COMPARE = 0x18;

// Attribute controller registers.
/** AR10 mode control: graphics (0), mono (1), line graphics (2), blink (3), pan compat (5), 8-bit (6), P54S (7). */
export const AR_MODE = 0x10;
/** AR11 overscan colour. */
export const AR_OVERSCAN = 0x11;
/** AR12 colour plane enable. */
export const AR_PLANE_ENABLE = 0x12;
/** AR13 horizontal pixel panning. */
export const AR_PANNING = 0x13;
/** AR14 colour select. */
export const AR_COLOR_SELECT = 0x14;
/** Number of attribute registers. */
export const AR_COUNT = 0x15;
/** Attribute index bit 5: palette address source (1 = display enabled). */
export const AR_INDEX_PAS = 0x20;

// Bochs VBE DISPI (vbe_display_api.txt).
/** DISPI register: interface id (0xB0C0-0xB0C5). */
export const DISPI_INDEX_ID = 0x0;
/** DISPI register: horizontal resolution. */
export const DISPI_INDEX_XRES = 0x1;
/** DISPI register: vertical resolution. */
export const DISPI_INDEX_YRES = 0x2;
/** DISPI register: bits per pixel. */
export const DISPI_INDEX_BPP = 0x3;
/** DISPI register: enable flags. */
export const DISPI_INDEX_ENABLE = 0x4;
/** DISPI register: 64 KiB bank of the 0xA0000 window. */
export const DISPI_INDEX_BANK = 0x5;
/** DISPI register: virtual (logical) width in pixels. */
export const DISPI_INDEX_VIRT_WIDTH = 0x6;
/** DISPI register: virtual height (read-only, derived from VRAM size). */
export const DISPI_INDEX_VIRT_HEIGHT = 0x7;
/** DISPI register: display start x. */
export const DISPI_INDEX_X_OFFSET = 0x8;
/** DISPI register: display start y. */
export const DISPI_INDEX_Y_OFFSET = 0x9;
/** DISPI register: VRAM size in 64 KiB units (read-only). */
export const DISPI_INDEX_VIDEO_MEMORY_64K = 0xa;
/** Number of DISPI registers. */
export const DISPI_REG_COUNT = 0xb;
/** Oldest DISPI id. */
export const DISPI_ID0 = 0xb0c0;
/** Newest DISPI id (VIDEO_MEMORY_64K present). */
export const DISPI_ID5 = 0xb0c5;
/** ENABLE bit: extended mode on. */
export const DISPI_ENABLED = 0x01;
/** ENABLE bit: reads of XRES/YRES/BPP return the maxima. */
export const DISPI_GETCAPS = 0x02;
/** ENABLE bit: DAC takes 8-bit components. */
export const DISPI_8BIT_DAC = 0x20;
/** ENABLE bit: linear framebuffer enabled. */
export const DISPI_LFB_ENABLED = 0x40;
/** ENABLE bit: do not clear VRAM on enable. */
export const DISPI_NOCLEARMEM = 0x80;
/** Largest horizontal resolution accepted (as QEMU). */
export const DISPI_MAX_XRES = 16000;
/** Largest vertical resolution accepted (as QEMU). */
export const DISPI_MAX_YRES = 12000;
/** Largest depth accepted. */
export const DISPI_MAX_BPP = 32;

// QEMU standard VGA PCI function (docs/specs/standard-vga.rst).
/** PCI vendor id of QEMU's stdvga. */
export const STDVGA_PCI_VENDOR = 0x1234;
/** PCI device id of QEMU's stdvga. */
export const STDVGA_PCI_DEVICE = 0x1111;
/** PCI class code: display controller, VGA compatible (0x0300), programming interface 0. */
export const STDVGA_PCI_CLASS = 0x030000;
/** PCI subsystem vendor (QEMU: Red Hat, 0x1af4). */
export const STDVGA_PCI_SUBSYSTEM_VENDOR = 0x1af4;
/** PCI subsystem id (QEMU: 0x1100). */
export const STDVGA_PCI_SUBSYSTEM = 0x1100;
/** PCI revision (QEMU: 2 with the MMIO BAR). */
export const STDVGA_PCI_REVISION = 0x02;
/** Size of BAR2, the MMIO register BAR. */
export const STDVGA_MMIO_BAR_BYTES = 0x1000;
/** Offset in BAR2 of the VGA ports 0x3C0-0x3DF. */
export const MMIO_OFS_VGA_PORTS = 0x400;
/** Offset in BAR2 of the DISPI registers (16-bit each, index * 2). */
export const MMIO_OFS_DISPI = 0x500;
/** Offset in BAR2 of QEMU's extended registers (size, byte order). */
export const MMIO_OFS_QEXT = 0x600;
