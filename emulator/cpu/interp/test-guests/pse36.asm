; pse36.asm - PSE-36 (SDM Vol. 3A 4.3): bits 13-16 of a 4 MiB PDE are physical address
; bits 32-35. A store through a PDE with bit 13 set goes above 4 GiB (nothing there with
; 64 MiB of RAM), not into the low 4 MiB that the same PDE with bit 13 clear maps.
%include "lib.inc"
%include "pm.inc"
PD equ 0x10000
bits 16
start:
  ENTER_PM main
bits 32
main:
  mov edi, PD
  mov ecx, 1024
  xor eax, eax
  rep stosd
  mov dword [PD + 0 * 4], 0x00000083            ; 0-4 MiB -> 0 (4 MiB page)
  mov dword [PD + 1 * 4], 0x00000083 | (1 << 13) ; 4-8 MiB -> 4 GiB
  mov dword [PD + 2 * 4], 0x00000083            ; 8-12 MiB -> 0 (PSE-36 bits clear)
  mov dword [0x1000], 0x55555555
  mov eax, cr4
  or eax, 0x10                                  ; PSE
  mov cr4, eax
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov dword [0x801000], 0x66666666              ; through PDE 2: lands at physical 0x1000
  mov eax, [0x1000]
  PRINT "low: "
  HEX eax
  mov dword [0x401000], 0xaaaaaaaa              ; through PDE 1: above 4 GiB
  mov eax, [0x1000]
  HEX eax
  mov eax, [PD + 1 * 4]
  HEX eax                                       ; accessed/dirty set in the PDE
  NL
  EXIT 0

LIBCODE
FOOTER
