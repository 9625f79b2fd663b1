; basic.asm - real-mode smoke test: ALU, flags, stack, string ops, MUL/DIV, BCD.
%include "lib.inc"
bits 16
org 0
start:
  cli
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  mov ds, ax
  mov es, ax
  PRINT "basic", 10
  mov eax, 0x12345678
  mov ebx, 0x9abcdef0
  add eax, ebx
  pushfd
  pop ecx
  and ecx, 0x8d5
  HEX eax
  HEX ecx
  NL
  mov ax, 0x7fff
  inc ax
  pushf
  pop cx
  and cx, 0x8d5
  HEX eax
  HEX ecx
  NL
  ; mul / div
  mov eax, 0xdeadbeef
  mov edx, 0x11223344
  mul edx
  HEX eax
  HEX edx
  mov eax, 0x12345678
  xor edx, edx
  mov ecx, 0x1234
  div ecx
  HEX eax
  HEX edx
  mov eax, -1000
  cdq
  mov ecx, 7
  idiv ecx
  HEX eax
  HEX edx
  NL
  ; strings
  mov di, 0x1000
  mov cx, 16
  mov al, 0xa5
  cld
  rep stosb
  mov si, 0x1000
  mov di, 0x2000
  mov cx, 4
  rep movsd
  mov eax, [0x200c]
  HEX eax
  HEX edi
  mov si, 0x1000
  mov di, 0x2000
  mov cx, 16
  repe cmpsb
  pushf
  pop ax
  and ax, 0x8d5
  HEX eax
  HEX ecx
  NL
  ; BCD
  mov al, 0x59
  add al, 0x38
  daa
  HEX eax
  mov ax, 0x0109
  add al, 5
  aaa
  HEX eax
  mov al, 77
  aam
  HEX eax
  aad
  HEX eax
  NL
  ; shifts
  mov eax, 0x80000001
  rol eax, 1
  pushfd
  pop ebx
  and ebx, 0x801
  HEX eax
  HEX ebx
  mov eax, 0xf0000000
  sar eax, 4
  HEX eax
  mov cl, 3
  mov edx, 0x12345678
  shld edx, eax, cl
  HEX edx
  bsf ecx, edx
  HEX ecx
  bsr ecx, edx
  HEX ecx
  NL
  ; call/ret, push/pop, pusha
  mov eax, 1
  mov ebx, 2
  call sub1
  HEX eax
  pushad
  popad
  HEX esp
  ; cpuid vendor
  xor eax, eax
  cpuid
  HEX ebx
  NL
  EXIT 0
sub1:
  add eax, ebx
  ret

LIBCODE
FOOTER
