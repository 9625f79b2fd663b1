; paging.asm - 2-level paging: 4 KiB and 4 MiB (PSE) pages, #PF error codes and CR2,
; CR0.WP, accessed/dirty bits, INVLPG, global pages across CR3 reloads, user/supervisor.
%include "lib.inc"
%include "pm.inc"
PD equ 0x10000
PT equ 0x11000
bits 16
start:
  ENTER_PM main
bits 32
main:
  ; page directory: PDE0 -> PT (identity 0-4 MiB, user, rw), PDE1 -> 4 MiB page at 8 MiB,
  ; PDE2 -> identity 4 MiB page at 8 MiB
  mov edi, PD
  mov ecx, 1024 * 2
  xor eax, eax
  rep stosd
  mov dword [PD + 0], PT | 7
  mov dword [PD + 4], 0x800000 | 0x83      ; PS, rw, present (supervisor)
  mov dword [PD + 8], 0x800000 | 0x87
  mov dword [PD + 0xffc], 0                 ; top 4 MiB (ROM alias) unused
  xor ecx, ecx
.fill:
  mov eax, ecx
  shl eax, 12
  or eax, 7
  mov [PT + ecx * 4], eax
  inc ecx
  cmp ecx, 1024
  jb .fill
  mov dword [PT + 0x300 * 4], 0             ; 0x300000 not present
  mov dword [PT + 0x301 * 4], 0x301000 | 5  ; read-only user
  mov dword [PT + 0x302 * 4], 0x302000 | 3  ; supervisor only
  mov dword [PT + 0x303 * 4], 0x303000 | 0x107 ; global
  mov eax, cr4
  or eax, 0x10 | 0x80                       ; PSE, PGE
  mov cr4, eax
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  PRINT "paging on", 10
  ; not-present read
  RECOVER_AT .r1
  mov eax, [0x300010]
.r1:
  ; not-present write
  RECOVER_AT .r2
  mov dword [0x300ffe], 1
.r2:
  ; read-only page: supervisor write allowed with WP=0
  mov dword [0x301000], 0x55
  HEX [0x301000]
  mov eax, cr0
  or eax, 0x10000
  mov cr0, eax
  RECOVER_AT .r3
  mov dword [0x301004], 0x66
.r3:
  HEX [0x301004]
  NL
  ; accessed / dirty bits
  mov eax, [PT + 0x304 * 4]
  HEX eax
  mov eax, [0x304000]
  mov eax, [PT + 0x304 * 4]
  HEX eax
  mov dword [0x304000], 1
  mov eax, [PT + 0x304 * 4]
  HEX eax
  mov eax, [PD]
  HEX eax
  NL
  ; 4 MiB page aliasing, dirty bit in the PDE
  mov dword [0x400010], 0xcafe0001
  HEX [0x800010]
  mov eax, [PD + 4]
  HEX eax
  NL
  ; stale TLB until INVLPG
  mov eax, [0x305000]
  mov dword [PT + 0x305 * 4], 0x306000 | 7
  mov dword [0x306000], 0x3060
  mov dword [0x305000], 0x3050
  mov eax, [0x305000]
  HEX eax
  invlpg [0x305000]
  mov eax, [0x305000]
  HEX eax
  ; global page survives CR3 reload, dropped after clearing PGE
  mov eax, [0x303000]
  mov dword [PT + 0x303 * 4], 0x307000 | 0x107
  mov dword [0x307000], 0x3070
  mov dword [0x303000], 0x3030
  mov eax, cr3
  mov cr3, eax
  mov eax, [0x303000]
  HEX eax
  mov eax, cr4
  and eax, ~0x80
  mov cr4, eax
  mov eax, [0x303000]
  HEX eax
  NL
  ; user mode: supervisor page read -> #PF 5, read-only write -> #PF 7
  TSS1_INIT 0x68
  mov word [TSS1 + 0x66], 0x1000
  mov ax, 0x38
  ltr ax
  SET_GATE 0x80, user_done, 0xef
  mov [SAVEDESP], esp
  push dword 0x33
  push dword 0x70000
  push dword 0x3002
  push dword 0x2b
  push dword user_code
  iret
user_done:
  mov esp, [SAVEDESP]
  PRINT "done", 10
  EXIT 0

user_code:
  mov ax, 0x33
  mov ds, ax
  mov es, ax
  RECOVER_AT .u1
  mov eax, [0x302000]
.u1:
  RECOVER_AT .u2
  mov dword [0x301008], 7
.u2:
  RECOVER_AT .u3
  mov eax, [0x400000]
.u3:
  int 0x80

LIBCODE
FOOTER
