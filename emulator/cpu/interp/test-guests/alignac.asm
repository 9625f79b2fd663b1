; alignac.asm - alignment check (SDM Vol. 3A 6.15, #AC; Table 6-7): with CR0.AM and
; EFLAGS.AC at CPL 3, a dword at an address that is not a multiple of 4 and a word at an
; odd address raise #AC(0), also for a push with a misaligned ESP; bytes and aligned
; operands do not, nor the same access with AC clear or at CPL 0.
; reference: expected  (QEMU 7.2 TCG does not implement alignment checking)
%include "lib.inc"
%include "pm.inc"
bits 16
start:
  ENTER_PM main
bits 32
main:
  TSS1_INIT 0x68
  mov ax, 0x38
  ltr ax
  SET_GATE 0x31, done, 0xee
  mov eax, cr0
  or eax, 0x40000                        ; AM
  mov cr0, eax
  push dword 0x33
  push dword 0x70000
  push dword 0x00040002                  ; AC
  push dword 0x2b
  push dword user
  iret

user:
  mov ax, 0x33
  mov ds, ax
  mov es, ax
  RECOVER_AT .r1
  mov eax, [0x801]                       ; #AC
.r1:
  mov eax, [0x804]
  RECOVER_AT .r2
  mov ax, [0x803]                        ; #AC
.r2:
  mov al, [0x803]
  mov ax, [0x802]
  RECOVER_AT .r3
  dec esp
  push eax                               ; #AC (ESP restored by the fault)
.r3:
  inc esp
  RECOVER_AT .r4
  mov esi, 0x801
  lodsd                                  ; #AC
.r4:
  pushfd
  and dword [esp], ~0x40000              ; AC off
  popfd
  mov eax, [0x801]                       ; no check
  int 0x31

done:
  mov ax, 0x10
  mov ds, ax
  pushfd
  or dword [esp], 0x40000
  popfd
  mov eax, [0x801]                       ; CPL 0: no check
  PRINT "done", 10
  EXIT 0

LIBCODE
FOOTER
