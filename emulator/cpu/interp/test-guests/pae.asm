; pae.asm - PAE paging: 3-level walk, 2 MiB pages, NX with EFER.NXE (instruction-fetch
; #PF with I/D), CPUID NX reporting. (Reserved-bit faults are a unit test: QEMU reports
; error code 8 where the SDM, section 4.7, requires P=1 as well.)
%include "lib.inc"
%include "pm.inc"
PDPT equ 0x10000
PD0 equ 0x11000
PT0 equ 0x12000
PD3 equ 0x13000
bits 16
start:
  ENTER_PM main
bits 32
main:
  mov edi, PDPT
  mov ecx, 0x4000 / 4
  xor eax, eax
  rep stosd
  mov dword [PDPT + 0], PD0 | 1
  mov dword [PDPT + 24], PD3 | 1
  mov dword [PD0 + 0], PT0 | 7              ; 0-2 MiB through a page table
  mov dword [PD0 + 8], 0x200000 | 0x87      ; 2-4 MiB one 2 MiB page
  mov dword [PD0 + 16], 0x200000 | 0x87     ; 4-6 MiB aliases 2-4 MiB
  xor ecx, ecx
.fill:
  mov eax, ecx
  shl eax, 12
  or eax, 7
  mov [PT0 + ecx * 8], eax
  inc ecx
  cmp ecx, 512
  jb .fill
  ; top GiB: map the ROM (0xFFF00000..) so nothing else is needed; code runs at 0xF0000 anyway
  mov dword [PT0 + 0x100 * 8 + 4], 0x80000000 ; 0x100000: NX data page
  mov dword [PT0 + 0x101 * 8], 0               ; 0x101000: not present
  mov eax, cr4
  or eax, 0x20
  mov cr4, eax
  mov eax, PDPT
  mov cr3, eax
  mov eax, 0x80000001
  cpuid
  and edx, 1 << 20
  HEX edx
  NL
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x800
  wrmsr
  rdmsr
  HEX eax
  NL
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  PRINT "pae on", 10
  ; data access to the NX page works now
  mov dword [0x100000], 0xc3c3c3c3        ; ret opcodes
  HEX [0x100000]
  ; 2 MiB alias
  mov dword [0x200040], 0x12345678
  HEX [0x400040]
  mov eax, [PD0 + 16]
  HEX eax
  NL
  ; executing the NX page: #PF with I/D set (code segment base 0xF0000: target offset 0x100000 - 0xF0000)
  RECOVER_AT .r1
  call 0x100000 - 0xF0000
.r1:
  RECOVER_AT .r2
  mov eax, [0x101000]
.r2:
  ; clear NX -> the call returns
  mov dword [PT0 + 0x100 * 8 + 4], 0
  invlpg [0x100000]
  call 0x100000 - 0xF0000
  PRINT "returned", 10
  EXIT 0

LIBCODE
FOOTER
