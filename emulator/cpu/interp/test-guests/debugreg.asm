; debugreg.asm - debug registers (SDM Vol. 3B ch. 17): an instruction breakpoint (#DB fault
; before the instruction, EIP at it, RF in the pushed EFLAGS lets it run), data write
; breakpoints of 4 bytes (trap after the writing instruction; reads and non-overlapping
; writes do not hit), a 2-byte read/write breakpoint, a disabled breakpoint, and a data
; breakpoint hit inside REP STOSW. The handler prints EIP and DR6 (B0-B3, BD, BS, BT) and
; clears DR6. (General detect is in debug-gd.asm: QEMU 7.2 TCG does not implement DR7.GD.
; A read just past a 2-byte read/write breakpoint is left out: QEMU 7.2 reports it as a hit.)
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  SET_GATE 1, db_handler, 0x8e
  ; A flat code segment (base 0) at 0x68: the instruction breakpoint is hit there, where
  ; EIP equals the linear address (QEMU 7.2 compares DR0 with EIP, not CS.base + EIP).
  mov dword [0x500 + 0x68], 0x0000ffff
  mov dword [0x500 + 0x6c], 0x00cf9a00
  mov word [0x5f0], 0x6f
  mov dword [0x5f2], 0x500
  lgdt [0x5f0]
  ; instruction breakpoint 0 on bp1
  mov eax, 0xf0000 + bp1
  mov dr0, eax
  mov eax, 0x00000001                  ; L0, R/W0 = 00 (execute), LEN0 = 00
  mov dr7, eax
  PRINT "exec bp", 10
  jmp dword 0x68:(0xf0000 + flat)
flat:
  call bp_func
  call bp_func
  xor eax, eax
  mov dr7, eax
  call bp_func                         ; disabled: no #DB
  jmp dword 0x08:after_flat
after_flat:
  PRINT "data bp", 10
  ; DR1: write, 4 bytes at 0x900; DR2: read/write, 2 bytes at 0x910; DR3 set but disabled
  mov eax, 0x900
  mov dr1, eax
  mov eax, 0x910
  mov dr2, eax
  mov eax, 0x920
  mov dr3, eax
  mov eax, (1 << 2) | (1 << 4) | (0x1 << 20) | (0x3 << 22) | (0x3 << 24) | (0x1 << 26) | (0x1 << 28) | (0x3 << 30)
  mov dr7, eax
  mov dword [0x900], 0x11111111        ; hits DR1
  mov eax, [0x900]                     ; read: DR1 is write-only
  mov byte [0x903], 0x22               ; overlaps the last byte: hits
  mov dword [0x904], 0x33333333        ; next dword: no hit
  mov ax, [0x911]                      ; read overlapping DR2: hits
  mov dword [0x920], 0                 ; DR3 not enabled: no hit
  mov edi, 0x8fe
  mov ecx, 3
  cld
  rep stosw                            ; the second store hits DR1: trap after that iteration
  PRINT "stosw left "
  HEX ecx
  HEX edi
  NL
  EXIT 0

bp_func:
  nop
bp1:
  inc ebx
  ret

DB_REPORT_HANDLER

LIBCODE
FOOTER
