; pmode.asm - protected mode: segment checks and exceptions with error codes, call gate,
; ring 3 through IRET, I/O permission bitmap, LDT, LAR/LSL/VERR, far return to ring 3.
%include "lib.inc"
%define HAVE_CALLGATE
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  PRINT "pm ok", 10
  ; #GP on a selector beyond the GDT limit
  RECOVER_AT .r1
  mov ax, 0x1f8
  mov ds, ax
.r1:
  mov ax, 0x10
  mov ds, ax
  ; #GP loading a code segment into SS; #NP style checks via not-present? (use null SS)
  RECOVER_AT .r2
  mov ax, 0x08
  mov ss, ax
.r2:
  RECOVER_AT .r3
  xor ax, ax
  mov ss, ax
.r3:
  mov ax, 0x10
  mov ss, ax
  ; #UD, #DE, INT3, BOUND
  RECOVER_AT .r4
  ud2
.r4:
  RECOVER_AT .r5
  xor edx, edx
  xor ecx, ecx
  mov eax, 5
  div ecx
.r5:
  RECOVER_AT .r6
  int3
.r6:
  RECOVER_AT .r7
  mov eax, 100
  bound eax, [cs:bounds]
.r7:
  ; null DS then access -> #GP(0)
  RECOVER_AT .r8
  xor ax, ax
  mov es, ax
  mov ax, 0x10
  mov es, ax
.r8:
  ; LAR / LSL / VERR / VERW
  mov ax, 0x2b          ; (not yet loaded: QEMU does not set accessed bits on CS loads)
  lar ebx, ax
  HEX ebx
  lsl ebx, ax
  HEX ebx
  mov ax, 0x2b
  verr ax
  pushfd
  pop ebx
  and ebx, 0x40
  HEX ebx
  mov ax, 0x08
  verw ax
  pushfd
  pop ebx
  and ebx, 0x40
  HEX ebx
  NL
  ; LDT: load and use a data segment from it (selector 0x04 | TI)
  mov dword [0x700], 0x0000ffff
  mov dword [0x704], 0x00cf9200   ; flat data in LDT entry 0
  mov dword [0x708], 0
  mov dword [0x70c], 0
  mov ax, 0x50
  lldt ax
  mov ax, 0x04
  mov fs, ax
  mov dword [fs:0x5000], 0xabcdef01
  HEX [0x5000]
  sldt eax
  HEX eax
  NL
  ; TSS for ring transitions; I/O bitmap permits 0xe9/0xf4 only
  TSS1_INIT 0x68 + 40
  mov word [TSS1 + 0x66], 0x68
  mov edi, TSS1 + 0x68
  mov ecx, 32
  mov al, 0xff
  rep stosb
  mov byte [TSS1 + 0x68 + 0xe9 / 8], 0xff & ~(1 << (0xe9 & 7))
  mov byte [TSS1 + 0x68 + 0xf4 / 8], 0xff & ~(1 << (0xf4 & 7))
  mov byte [TSS1 + 0x68 + 32], 0xff
  mov ax, 0x38
  ltr ax
  str eax
  HEX eax
  ; IDT gate 0x80 (DPL3 trap gate) returns from user mode
  SET_GATE 0x80, user_syscall, 0xef
  mov [SAVEDESP], esp
  ; IRET to ring 3 with IOPL 0
  push dword 0x33
  push dword 0x70000
  push dword 0x002
  push dword 0x2b
  push dword user_code
  iret
user_back:
  mov esp, [SAVEDESP]
  PRINT "back in ring 0", 10
  ; double fault: #GP whose gate is not present -> #NP while delivering -> #DF (error 0)
  mov ax, 0x10
  mov ds, ax
  and byte [IDT + 13 * 8 + 5], 0x7f
  RECOVER_AT .d1
  mov ax, 0x1f8
  mov es, ax
.d1:
  or byte [IDT + 13 * 8 + 5], 0x80
  mov ax, 0x10
  mov es, ax
  EXIT 0

user_syscall:
  PRINT "syscall from cs "
  mov eax, [esp + 4]
  HEX eax
  mov eax, [esp + 16]
  HEX eax
  mov ax, ss
  movzx eax, ax
  HEX eax
  HEX esp
  NL
  jmp user_back

callgate_target:
  PRINT "call gate: "
  mov ax, cs
  movzx eax, ax
  HEX eax
  mov eax, [esp]
  HEX eax           ; return eip
  mov eax, [esp + 4]
  HEX eax       ; return cs
  mov eax, [esp + 8]
  HEX eax       ; param 1 (copied)
  mov eax, [esp + 12]
  HEX eax      ; param 2
  mov eax, [esp + 16]
  HEX eax      ; old esp
  mov eax, [esp + 20]
  HEX eax      ; old ss
  NL
  retf 8

user_code:
  mov ax, 0x33
  mov ds, ax
  mov es, ax
  PRINT "ring 3", 10
  mov ax, cs
  movzx eax, ax
  HEX eax
  pushfd
  pop eax
  HEX eax
  NL
  RECOVER_AT .u1
  out 0x80, al          ; denied by the bitmap
.u1:
  RECOVER_AT .u2
  cli                   ; IOPL 0 -> #GP
.u2:
  RECOVER_AT .u3
  mov ax, 0x10          ; DPL0 data from CPL3 -> #GP(0x10)
  mov ds, ax
.u3:
  mov ax, 0x33
  mov ds, ax
  RECOVER_AT .u4
  hlt
.u4:
  RECOVER_AT .u5
  mov eax, cr0
.u5:
  ; call gate to ring 0 with 2 parameters
  push dword 0x11111111
  push dword 0x22222222
  call 0x48:0
  HEX esp
  NL
  int 0x80

bounds: dd 0, 10

LIBCODE
FOOTER
