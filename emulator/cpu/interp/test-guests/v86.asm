; v86.asm - virtual-8086 round trip: IRET to v86 (segments as real mode), INT n with
; IOPL 3 to a DPL3 gate (ring-0 handler, frame with the v86 segment registers), #GP for CLI
; with IOPL 0, INT n with IOPL 0 (#GP), and the return to protected mode through #UD.
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  TSS1_INIT 0x68
  mov word [TSS1 + 0x66], 0x1000
  mov ax, 0x38
  ltr ax
  SET_GATE 0x30, v86_int, 0xee
  SET_GATE 6, v86_exit, 0x8e
  mov [SAVEDESP], esp
  ; recovery target for #GP in v86 is a 16-bit offset in CS 0xF000
  mov dword [RECOVER], v86_after_cli
  ; IRET to v86: GS FS DS ES SS ESP EFLAGS CS EIP
  push dword 0x0000        ; GS
  push dword 0x0000        ; FS
  push dword 0x1234        ; DS
  push dword 0x2000        ; ES
  push dword 0x0800        ; SS
  push dword 0x1000        ; SP
  push dword 0x00023202    ; VM, IOPL 3, IF
  push dword 0xf000        ; CS
  push dword v86_code
  iret

v86_int:
  PRINT "int30 from v86: "
  mov eax, [esp]
  HEX eax                  ; eip
  mov eax, [esp + 4]
  HEX eax                  ; cs
  mov eax, [esp + 8]
  HEX eax                  ; eflags
  mov eax, [esp + 12]
  HEX eax                  ; esp
  mov eax, [esp + 16]
  HEX eax                  ; ss
  mov eax, [esp + 20]
  HEX eax                  ; es
  mov eax, [esp + 24]
  HEX eax                  ; ds
  mov ax, ds
  movzx eax, ax
  HEX eax                  ; ds nulled in the handler
  NL
  ; return to v86 with IOPL 0 this time
  and dword [esp + 8], ~0x3000
  iret

v86_exit:
  mov ax, 0x10
  mov ds, ax
  PRINT "back in pm: "
  mov eax, [esp]
  HEX eax
  mov eax, [esp + 8]
  HEX eax
  mov eax, [esp + 12]
  HEX eax
  NL
  mov esp, [SAVEDESP]
  EXIT 0

bits 16
v86_code:
  mov ax, 0x1111
  push ax
  pop bx
  mov [es:0x10], bx          ; linear 0x20010
  mov cx, [es:0x10]
  mov ax, ds
  int 0x30
  ; IOPL 0 now: CLI faults (#GP(0)) and the handler resumes at v86_after_cli
  cli
v86_after_cli:
  ; INT n with IOPL 0 -> #GP(0); the handler resumes at v86_after_int
  xor ax, ax
  mov ds, ax
  mov dword [RECOVER], v86_after_int
  int 0x30
v86_after_int:
  mov ax, sp
  ud2                        ; #UD goes to a ring-0 interrupt gate: back to protected mode
bits 32

LIBCODE
FOOTER
