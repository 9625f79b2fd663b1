; seglimit.asm - segment checks on data accesses (SDM Vol. 3A 5.3-5.5, 6.15): expand-up
; limits (the whole operand must fit: a byte at the limit passes, a dword 3 bytes below it
; faults), expand-down limits (B = 0: offsets limit+1..0xFFFF), a read-only data segment,
; the null selector, CS-override reads of readable / execute-only code and writes to code,
; SS-relative accesses (#SS(0)), REP STOSD stopping at the limit with ECX/EDI counting the
; stores done, and in real mode a word at offset 0xFFFF (INT 13) and through SS (INT 12).
; reference: expected  (QEMU TCG does not check data segment limits; see guests.test.ts)
%include "lib.inc"
%include "pm.inc"
bits 16
; Real-mode fault handlers: record (vector << 16 | faulting IP), resume at [0x700].
rm_fault13:
  push word 13
  jmp rm_fault
rm_fault12:
  push word 12
rm_fault:
  push bp
  mov bp, sp
  push ds
  push ax
  push bx
  xor ax, ax
  mov ds, ax
  mov bx, [0x702]
  shl bx, 2
  mov ax, [bp + 4]          ; IP
  mov [0x704 + bx], ax
  mov ax, [bp + 2]          ; vector
  mov [0x706 + bx], ax
  inc word [0x702]
  mov ax, [0x700]
  mov [bp + 4], ax
  pop bx
  pop ax
  pop ds
  pop bp
  add sp, 2
  iret

start:
  ; Real mode first: #GP / #SS are INT 13 / INT 12 without an error code.
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [13 * 4], rm_fault13
  mov word [13 * 4 + 2], 0xf000
  mov word [12 * 4], rm_fault12
  mov word [12 * 4 + 2], 0xf000
  mov word [0x702], 0         ; count of real-mode faults, then their IPs at 0x704
  mov ax, 0x2000
  mov ds, ax
  mov word [0xfffe], 0x1234
  mov ax, [0xfffe]
  mov word [ss:0x700], rm1
  mov ax, [0xffff]          ; crosses the 64 KiB limit: INT 13
rm1:
  mov word [ss:0x700], rm2
  mov ebx, 0x10000
  mov al, [ebx]             ; 32-bit offset beyond the limit: INT 13
rm2:
  mov word [ss:0x700], rm3
  mov bp, 0xfffd
  mov eax, [bp]             ; SS-relative: INT 12
rm3:
  mov bp, 0xfffc
  mov eax, [bp]             ; fits
  xor ax, ax
  mov ds, ax
  ENTER_PM main

bits 32
%define SEL_SMALL 0x68   ; base 0x20000, limit 0xFFF, writable
%define SEL_RO    0x70   ; base 0x20000, limit 0xFFF, read-only
%define SEL_DOWN  0x78   ; base 0x20000, limit 0xFFF, expand-down, B = 0
%define SEL_XO    0x80   ; code32, execute-only, base 0xF0000
%define SEL_DOWNB 0x88   ; base 0x20000, limit 0xFFF, expand-down, B = 1
main:
  PRINT "real mode faults: "
  movzx ecx, word [0x702]
  HEX ecx
  xor ebx, ebx
.rmlist:
  cmp ebx, ecx
  jae .rmdone
  HEX [0x704 + ebx * 4]
  inc ebx
  jmp .rmlist
.rmdone:
  NL
  ; Extra descriptors after the ones pm.inc copies to 0x500.
  mov dword [0x500 + SEL_SMALL], 0x00000fff
  mov dword [0x500 + SEL_SMALL + 4], 0x00009202
  mov dword [0x500 + SEL_RO], 0x00000fff
  mov dword [0x500 + SEL_RO + 4], 0x00009002
  mov dword [0x500 + SEL_DOWN], 0x00000fff
  mov dword [0x500 + SEL_DOWN + 4], 0x00009602
  mov dword [0x500 + SEL_XO], 0x0000ffff
  mov dword [0x500 + SEL_XO + 4], 0x004f980f
  mov dword [0x500 + SEL_DOWNB], 0x00000fff
  mov dword [0x500 + SEL_DOWNB + 4], 0x00409602
  mov word [0x5f0], 0x500 + SEL_DOWNB + 8 - 0x500 - 1
  mov dword [0x5f2], 0x500
  lgdt [0x5f0]

  mov ax, SEL_SMALL
  mov es, ax
  mov fs, ax
  mov dword [fs:0xffc], 0x11223344
  mov al, [fs:0xfff]
  movzx eax, al
  PRINT "byte at limit: "
  HEX eax
  NL
  RECOVER_AT .r1
  mov eax, [fs:0xffd]       ; dword ends past the limit
.r1:
  RECOVER_AT .r2
  mov word [fs:0xfff], 1    ; write past the limit
.r2:
  RECOVER_AT .r3
  mov ebx, 0xffe
  add dword [fs:ebx], 1     ; read-modify-write past the limit
.r3:
  RECOVER_AT .r4
  mov esi, 0x1000
  lodsb                     ; DS is flat: fine
  mov esi, 0xfff
  fs lodsw                  ; string read past the limit
.r4:
  ; REP STOSD from 0xff0: four stores fit, the fifth faults with ECX/EDI describing it.
  RECOVER_AT .r5
  cld
  mov edi, 0xff0
  mov ecx, 8
  mov eax, 0xa5a5a5a5
  rep stosd
.r5:
  PRINT "stosd stopped: "
  HEX ecx
  HEX edi
  NL
  ; read-only data segment
  mov ax, SEL_RO
  mov gs, ax
  mov eax, [gs:0xffc]
  PRINT "ro read: "
  HEX eax
  NL
  RECOVER_AT .r6
  mov [gs:0], eax           ; write to a read-only segment
.r6:
  ; expand-down, B = 0: valid offsets 0x1000..0xFFFF
  mov ax, SEL_DOWN
  mov gs, ax
  mov dword [gs:0x1000], 0x55667788
  mov eax, [gs:0x1000]
  PRINT "down ok: "
  HEX eax
  NL
  RECOVER_AT .r7
  mov al, [gs:0xfff]        ; at the limit: outside an expand-down segment
.r7:
  RECOVER_AT .r8
  mov eax, [gs:0xfffe]      ; ends past 0xFFFF
.r8:
  mov eax, [gs:0xfffc]
  PRINT "down top ok", 10
  ; expand-down, B = 1: offsets up to 0xFFFFFFFF are inside
  mov ax, SEL_DOWNB
  mov gs, ax
  mov eax, [gs:0x10000]
  PRINT "down B ok", 10
  ; the null selector
  xor ax, ax
  mov gs, ax
  PRINT "null loaded", 10
  RECOVER_AT .r9
  mov eax, [gs:0]
.r9:
  ; CS-relative: readable code reads fine, writes fault
  mov eax, [cs:main]
  PRINT "cs read ok", 10
  RECOVER_AT .r10
  mov [cs:main], eax
.r10:
  ; execute-only code: a CS-override read faults
  jmp SEL_XO:.xo
.xo:
  RECOVER_AT .r11
  mov eax, [cs:main]
.r11:
  jmp 0x08:.back
.back:
  ; SS-relative accesses through a 64 KiB stack segment: #SS(0)
  mov ax, 0x20
  mov ss, ax
  mov esp, 0x7000
  RECOVER_AT .r12
  mov ebp, 0xfffe
  mov eax, [ebp]
.r12:
  RECOVER_AT .r13
  mov eax, [ss:0x10000]
.r13:
  mov eax, [ebp - 2]
  PRINT "ss in limit ok", 10
  mov ax, 0x10
  mov ss, ax
  mov esp, 0x90000
  EXIT 0

LIBCODE
FOOTER
