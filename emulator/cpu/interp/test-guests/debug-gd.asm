; debug-gd.asm - general detect (SDM Vol. 3B 17.2.4): with DR7.GD set, MOV from/to a debug
; register is a #DB fault (EIP at the MOV) with DR6.BD set, and GD is cleared on entry to
; the handler so the MOV then runs.
; reference: expected  (QEMU 7.2 TCG does not implement DR7.GD)
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  SET_GATE 1, db_handler, 0x8e
  mov eax, 0x12345678
  mov dr0, eax
  PRINT "general detect", 10
  mov eax, dr7
  or eax, 0x2000
  mov dr7, eax
gd_mov:
  mov eax, dr0                         ; #DB (BD), GD cleared, then it runs
  HEX eax
  mov eax, dr7
  and eax, 0x2000
  HEX eax
  NL
  xor eax, eax
  mov dr7, eax
  EXIT 0

DB_REPORT_HANDLER

LIBCODE
FOOTER
