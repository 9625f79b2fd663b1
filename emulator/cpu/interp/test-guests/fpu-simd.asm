; fpu-simd.asm - the core's dispatch to the x87 and SIMD units: ESC opcodes with memory
; operands in 16- and 32-bit addressing, FNSTSW AX, FWAIT, CR0.TS -> #NM, CR0.EM -> #NM
; (x87) / #UD (SSE), MMX, SSE and SSE2 with ModRM/SIB operands, FXSAVE.
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  fninit
  fld1
  fldpi
  faddp st1, st0
  mov word [0x800], 0x1234
  fistp word [0x800]
  mov ax, [0x800]
  HEX eax
  fnstsw ax
  HEX eax
  fnstcw [0x802]
  mov ax, [0x802]
  HEX eax
  NL
  ENTER_PM main
bits 32
main:
  mov eax, cr4
  or eax, 0x600                 ; OSFXSR | OSXMMEXCPT
  mov cr4, eax
  mov eax, cr0
  and eax, ~0x4                 ; EM = 0
  or eax, 0x22                  ; MP, NE
  mov cr0, eax
  mov dword [0x1000], 0x3f800000  ; 1.0f
  mov dword [0x1004], 0x40000000  ; 2.0f
  mov dword [0x1008], 0x40400000  ; 3.0f
  mov dword [0x100c], 0x40800000  ; 4.0f
  mov ebx, 0x1000
  mov ecx, 1
  movups xmm0, [ebx]
  addps xmm0, [ebx + ecx * 8 - 8]
  movups [0x1010], xmm0
  HEX [0x1010]
  HEX [0x101c]
  mov eax, 7
  cvtsi2ss xmm1, eax
  mulss xmm1, xmm0
  cvttss2si eax, xmm1
  HEX eax
  pxor xmm2, xmm2
  mov eax, 0x01020304
  movd xmm2, eax
  paddd xmm2, xmm2
  movd eax, xmm2
  HEX eax
  NL
  movq mm0, [0x1000]
  paddw mm0, [0x1008]
  movd eax, mm0
  HEX eax
  emms
  fild dword [0x1008]
  fsqrt
  fstp dword [0x1020]
  HEX [0x1020]
  fxsave [0x2000 + 0x800]
  movzx eax, word [0x2000 + 0x800]
  HEX eax
  mov eax, [0x2000 + 0x800 + 24]
  HEX eax
  NL
  ; CR0.TS -> #NM for x87 and SSE; FWAIT with MP|TS -> #NM
  mov eax, cr0
  or eax, 8
  mov cr0, eax
  RECOVER_AT .r1
  fld1
.r1:
  RECOVER_AT .r2
  addps xmm0, xmm0
.r2:
  RECOVER_AT .r3
  fwait
.r3:
  clts
  ; CR0.EM -> #NM for x87, #UD for SSE
  mov eax, cr0
  or eax, 4
  mov cr0, eax
  RECOVER_AT .r4
  fld1
.r4:
  RECOVER_AT .r5
  addps xmm0, xmm0
.r5:
  EXIT 0

LIBCODE
FOOTER
