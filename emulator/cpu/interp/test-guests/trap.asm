; trap.asm - real mode: TF single-step #DB traps (IP after each instruction, no trap after
; the POPF that sets TF, none inside INT handlers), INT3, INTO, ICEBP, interrupt shadow of
; MOV SS while single-stepping, and an 8086-style far return through IRET.
%include "lib.inc"
bits 16
org 0
start:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [1 * 4], db_handler
  mov word [1 * 4 + 2], 0xf000
  mov word [3 * 4], bp_handler
  mov word [3 * 4 + 2], 0xf000
  mov word [4 * 4], of_handler
  mov word [4 * 4 + 2], 0xf000
  mov word [0x30 * 4], int30
  mov word [0x30 * 4 + 2], 0xf000
  mov byte [0x500], 0
  pushf
  pop ax
  or ax, 0x100
  push ax
  popf                ; TF on: the trap comes after the next instruction
  mov bx, 1
  add bx, bx
  int 0x30            ; handler runs with TF clear
  mov cx, ss
  mov ss, cx          ; MOV SS: no trap between it and the next instruction
  inc bx
  nop
  nop
  nop
  PRINT "after tf", 10
  int3
  mov al, 0x7f
  add al, 1
  into
  HEX ebx
  NL
  EXIT 0

db_handler:
  push bp
  mov bp, sp
  PRINT "db "
  HEX [bp + 2]
  NL
  inc byte [0x500]
  cmp byte [0x500], 7
  jb .keep
  and word [bp + 6], ~0x100
.keep:
  pop bp
  iret
bp_handler:
  push bp
  mov bp, sp
  PRINT "bp "
  HEX [bp + 2]
  NL
  pop bp
  iret
of_handler:
  PRINT "of", 10
  iret
int30:
  PRINT "int30", 10
  iret

LIBCODE
FOOTER
