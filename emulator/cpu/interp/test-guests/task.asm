; task.asm - hardware task switching with 32-bit TSSes: CALL to a TSS (NT, back link,
; busy bits), IRET back, JMP through a task gate, and an exception through a task gate.
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  ; TSS1 = current task (filled on switch), TSS2 = target task
  mov edi, TSS1
  mov ecx, 0x400
  xor al, al
  rep stosb
  mov word [TSS1 + 0x66], 0x68
  mov word [TSS2 + 0x66], 0x68
  mov ax, 0x38
  ltr ax
  ; task 2 state
  mov dword [TSS2 + 0x20], task2        ; EIP
  mov dword [TSS2 + 0x24], 0x2          ; EFLAGS
  mov dword [TSS2 + 0x28], 0xaaaa0001   ; EAX
  mov dword [TSS2 + 0x2c], 0xcccc0002   ; ECX
  mov dword [TSS2 + 0x38], 0x70000      ; ESP
  mov word [TSS2 + 0x48], 0x10          ; ES
  mov word [TSS2 + 0x4c], 0x08          ; CS
  mov word [TSS2 + 0x50], 0x10          ; SS
  mov word [TSS2 + 0x54], 0x10          ; DS
  mov word [TSS2 + 0x58], 0x10
  mov word [TSS2 + 0x5c], 0x10
  mov eax, cr3
  mov [TSS2 + 0x1c], eax
  mov ebx, 0x12345678
  call 0x40:0
  PRINT "back: "
  HEX eax
  HEX ebx
  str eax
  HEX eax
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  mov eax, [0x500 + 0x38 + 4]          ; TSS1 descriptor type (busy)
  shr eax, 8
  and eax, 0xf
  HEX eax
  mov eax, [0x500 + 0x40 + 4]          ; TSS2 descriptor type (free again)
  shr eax, 8
  and eax, 0xf
  HEX eax
  mov eax, [TSS2 + 0x20]               ; saved EIP of task 2
  sub eax, task2
  HEX eax
  NL
  ; second round: JMP through the task gate (selector 0x58) -> task 2 jumps back by TSS
  mov dword [TSS2 + 0x20], task2b
  mov dword [TSS2 + 0x38], 0x70000
  jmp 0x58:0
after_jmp:
  PRINT "after jmp: "
  str eax
  HEX eax
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  mov eax, [0x500 + 0x40 + 4]
  shr eax, 8
  and eax, 0xf
  HEX eax
  NL
  ; third round: INT 0x40 through an IDT task gate, IRET back
  mov word [IDT + 0x40 * 8 + 2], 0x40
  mov word [IDT + 0x40 * 8 + 4], 0x8500
  mov dword [TSS2 + 0x20], task2c
  mov dword [TSS2 + 0x38], 0x70000
  mov dword [TSS2 + 0x24], 0x2
  int 0x40
  PRINT "after int: "
  str eax
  HEX eax
  NL
  EXIT 0

task2c:
  PRINT "task2c: "
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  movzx eax, word [TSS2]
  HEX eax
  NL
  iret

task2:
  PRINT "task2: "
  HEX eax
  HEX ecx
  str eax
  HEX eax
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  movzx eax, word [TSS2]               ; back link
  HEX eax
  mov eax, [0x500 + 0x40 + 4]
  shr eax, 8
  and eax, 0xf
  HEX eax
  NL
  mov eax, 0x55
  iret
  ; resumed here on a later switch to task 2
  jmp $

task2b:
  PRINT "task2b: "
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  NL
  mov dword [TSS1 + 0x20], after_jmp
  jmp 0x38:0

LIBCODE
FOOTER
