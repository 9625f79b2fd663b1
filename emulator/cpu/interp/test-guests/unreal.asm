; unreal.asm - mode transitions as firmware does them: real -> 32-bit PM -> 16-bit PM ->
; real mode with cached 4 GiB limits ("unreal" mode), 32-bit addressing from real mode,
; far jumps/returns across modes, and 16-bit protected-mode code with 0x66/0x67 prefixes.
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM pm32
bits 32
pm32:
  mov dword [0x200000], 0x600dbeef
  ; to 16-bit protected mode
  jmp 0x18:pm16
bits 16
pm16:
  mov ax, 0x20
  mov ss, ax
  mov eax, [dword 0x200000]       ; flat DS still loaded (limit 4 GiB)
  HEX eax
  o32 push 0x1234
  pop ecx
  HEX ecx
  NL
  ; back to real mode keeping DS's 4 GiB limit
  mov eax, cr0
  and al, ~1
  mov cr0, eax
  jmp 0xf000:real_again
real_again:
  xor ax, ax
  mov ss, ax
  mov es, ax
  mov sp, 0x7000
  mov ds, ax                      ; base 0, limit stays 4 GiB
  mov eax, [dword 0x200000]
  HEX eax
  mov dword [dword 0x300000], 0x12345678
  mov ebx, 0x300000
  mov ecx, [ebx]
  HEX ecx
  ; 32-bit string op in unreal mode
  mov esi, 0x300000
  mov edi, 0x300010
  mov ecx, 4
  a32 rep movsb
  mov eax, [dword 0x300010]
  HEX eax
  HEX edi
  NL
  ; far call through a 16:16 pointer in memory and a far return
  mov word [0x900], far_fn
  mov word [0x902], 0xf000
  call far [0x900]
  HEX eax
  NL
  EXIT 0
far_fn:
  mov eax, 0xfa11
  retf

LIBCODE
FOOTER
