; task16.asm - 16-bit TSSes (SDM Vol. 3A 7.6): CALL from a 16-bit task to a 16-bit task
; (state loaded from IP/FLAGS/AX..DI/ES/CS/SS/DS at 0x0E-0x28, NT, back link, busy types
; 1 <-> 3), IRET back (the old state saved in the 16-bit layout), and an interrupt from
; ring 3 whose ring-0 stack comes from SP0/SS0 of the current 16-bit TSS.
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  mov edi, TSS1
  mov ecx, 0x400
  xor al, al
  rep stosb
  mov byte [0x500 + 0x38 + 5], 0x81     ; TSS1: 16-bit available TSS
  mov byte [0x500 + 0x40 + 5], 0x81     ; TSS2: 16-bit available TSS
  mov ax, 0x38
  ltr ax
  mov eax, [0x500 + 0x38 + 4]
  shr eax, 8
  and eax, 0xf
  PRINT "tr type: "
  HEX eax
  NL
  mov word [TSS2 + 0x0e], task2          ; IP
  mov word [TSS2 + 0x10], 0x0002         ; FLAGS
  mov word [TSS2 + 0x12], 0x1111         ; AX
  mov word [TSS2 + 0x14], 0x2222         ; CX
  mov word [TSS2 + 0x16], 0x3333         ; DX
  mov word [TSS2 + 0x18], 0x4444         ; BX
  mov word [TSS2 + 0x1a], 0x6000         ; SP
  mov word [TSS2 + 0x1c], 0x5555         ; BP
  mov word [TSS2 + 0x1e], 0x6666         ; SI
  mov word [TSS2 + 0x20], 0x7777         ; DI
  mov word [TSS2 + 0x22], 0x20           ; ES
  mov word [TSS2 + 0x24], 0x18           ; CS (code16)
  mov word [TSS2 + 0x26], 0x20           ; SS
  mov word [TSS2 + 0x28], 0x20           ; DS
  mov word [TSS2 + 0x2a], 0              ; LDT
  mov ebx, 0x12345678
  mov esi, 0xabcd0001
  call 0x40:0
  PRINT "back: "
  movzx eax, ax
  HEX eax
  movzx eax, bx
  HEX eax
  movzx eax, si
  HEX eax
  str eax
  HEX eax
  pushfd
  pop eax
  and eax, 0x4000
  HEX eax
  NL
  PRINT "task2 saw: "
  movzx eax, word [0x800]
  HEX eax
  movzx eax, word [0x802]
  HEX eax
  movzx eax, word [0x804]
  HEX eax
  movzx eax, word [0x806]
  HEX eax
  movzx eax, word [0x808]
  HEX eax
  movzx eax, word [0x80a]
  HEX eax
  movzx eax, word [0x80c]
  HEX eax
  NL
  PRINT "types: "
  mov eax, [0x500 + 0x38 + 4]
  shr eax, 8
  and eax, 0xf
  HEX eax
  mov eax, [0x500 + 0x40 + 4]
  shr eax, 8
  and eax, 0xf
  HEX eax
  PRINT "saved: "
  movzx eax, word [TSS2 + 0x0e]
  sub eax, task2
  HEX eax
  movzx eax, word [TSS2 + 0x12]
  HEX eax
  movzx eax, word [TSS2 + 0x1a]
  HEX eax
  movzx eax, word [TSS1 + 0x18]          ; BX of task 1 saved at the CALL
  HEX eax
  movzx eax, word [TSS1 + 0x24]          ; CS of task 1
  HEX eax
  NL
  ; Ring 3 -> ring 0 through a DPL 3 interrupt gate: SS0:SP0 from the 16-bit TSS.
  mov word [TSS1 + 2], 0x8000            ; SP0
  mov word [TSS1 + 4], 0x10              ; SS0
  SET_GATE 0x30, ring0_handler, 0xee
  push dword 0x33
  push dword 0x70000
  push dword 0x2
  push dword 0x2b
  push dword user_code
  iret

user_code:
  mov eax, 0x77
  int 0x30
  jmp $

ring0_handler:
  PRINT "ring0 esp "
  HEX esp
  mov ax, ss
  movzx eax, ax
  HEX eax
  mov eax, [esp + 4]
  HEX eax
  mov eax, [esp + 12]
  HEX eax
  mov eax, [esp + 16]
  HEX eax
  NL
  EXIT 0

bits 16
task2:
  mov [0x800], ax
  mov [0x802], cx
  mov [0x804], di
  pushf
  pop ax
  and ax, 0x4000
  mov [0x806], ax
  mov ax, [TSS2]
  mov [0x808], ax
  str ax
  mov [0x80a], ax
  mov ax, ss
  mov [0x80c], ax
  mov ax, 0x4321
  iret
bits 32

LIBCODE
FOOTER
