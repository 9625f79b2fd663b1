; vme.asm - CR4.VME and CR4.PVI (SDM Vol. 3A 20.3-20.4): in v86 mode with IOPL 0, CLI/STI
; change VIF, 16-bit PUSHF shows VIF as IF and IOPL 3, POPF/IRET load VIF from IF, INT n
; with a clear bit in the TSS redirection bitmap goes through the v86 IVT, with a set bit
; raises #GP(0), PUSHFD raises #GP(0), STI with VIP set raises #GP(0); at CPL 3 with PVI,
; CLI/STI change VIF.
; reference: expected  (QEMU 7.2 TCG accepts CR4.VME/PVI but does not implement them)
%include "lib.inc"
%include "pm.inc"
CONT equ 0x614           ; where the #UD handler continues (a 32-bit label)
bits 16
start:
  ENTER_PM main
bits 32
main:
  TSS1_INIT 0x100
  mov word [TSS1 + 0x66], 0x88          ; I/O map at 0x88: the redirection bitmap is 0x68-0x87
  mov edi, TSS1 + 0x68
  mov ecx, 32
  mov al, 0xff
  rep stosb                              ; no vector redirected ...
  and byte [TSS1 + 0x68 + 0x40 / 8], ~(1 << (0x40 & 7))   ; ... but 0x40
  mov ax, 0x38
  ltr ax
  mov word [0x40 * 4], v86_int40         ; v86 IVT entry 0x40 -> F000:v86_int40
  mov word [0x40 * 4 + 2], 0xf000
  mov eax, cr4
  or eax, 1                              ; VME
  mov cr4, eax
  mov eax, cr4
  PRINT "cr4 "
  HEX eax
  NL
  SET_GATE 0x30, pm_int30, 0xee
  SET_GATE 6, ud_handler, 0x8e
  mov [SAVEDESP], esp
  mov dword [CONT], phase2
  mov dword [RECOVER], v86_after_int30
  push dword 0                           ; GS
  push dword 0                           ; FS
  push dword 0                           ; DS
  push dword 0                           ; ES
  push dword 0x0800                      ; SS
  push dword 0x1000                      ; SP
  push dword 0x00020002                  ; VM, IOPL 0, IF 0, VIF 0
  push dword 0xf000
  push dword v86_code
  iret

pm_int30:
  PRINT "int30 reached the IDT", 10
  iret

ud_handler:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov esp, [SAVEDESP]
  jmp [CONT]

phase2:
  PRINT "v86 results: "
  mov esi, 0x800
.l:
  movzx eax, word [esi]
  HEX eax
  add esi, 2
  cmp esi, 0x812
  jb .l
  NL
  ; STI while VIP is set: #GP(0)
  mov dword [CONT], phase3
  mov dword [RECOVER], v86_after_sti
  push dword 0
  push dword 0
  push dword 0
  push dword 0
  push dword 0x0800
  push dword 0x1000
  push dword 0x00120002                  ; VM, VIP
  push dword 0xf000
  push dword v86_vip
  iret

phase3:
  ; PVI: CLI/STI at CPL 3 with IOPL 0 change VIF
  mov eax, cr4
  or eax, 2
  mov cr4, eax
  SET_GATE 0x31, pm_int31, 0xee
  push dword 0x33
  push dword 0x70000
  push dword 0x00000202                  ; IF 1, IOPL 0
  push dword 0x2b
  push dword user_code
  iret

user_code:
  mov ax, 0x33
  mov ds, ax
  cli
  pushfd
  pop eax
  mov [0x820], eax
  sti
  pushfd
  pop eax
  mov [0x824], eax
  int 0x31

pm_int31:
  mov ax, 0x10
  mov ds, ax
  PRINT "pvi: "
  mov eax, [0x820]
  and eax, 0x80200
  HEX eax
  mov eax, [0x824]
  and eax, 0x80200
  HEX eax
  NL
  EXIT 0

bits 16
v86_code:
  xor ax, ax
  mov ds, ax
  cli
  sti                          ; VIF = 1
  pushf
  pop word [0x800]             ; IF shows VIF (1), IOPL shows 3
  cli                          ; VIF = 0
  pushf
  pop word [0x802]
  push word 0x0202
  popf                         ; VIF = 1 from IF
  pushf
  pop word [0x804]
  push word 0x0002
  popf                         ; VIF = 0
  sti                          ; VIF = 1
  int 0x40                     ; redirected through the v86 IVT
  pushf
  pop word [0x80c]             ; VIF restored by the virtual IRET
  mov [0x80e], sp
  int 0x30                     ; bit set, IOPL 0: #GP(0)
v86_after_int30:
  mov dword [RECOVER], v86_after_pushfd
  pushfd                       ; 32-bit PUSHF with IOPL < 3: #GP(0)
v86_after_pushfd:
  mov [0x810], sp
  ud2

v86_int40:
  pushf
  pop word [0x806]             ; VIF cleared on entry
  mov bp, sp
  mov ax, [bp + 4]
  mov [0x808], ax              ; FLAGS pushed by the redirection
  mov ax, [bp + 2]
  mov [0x80a], ax              ; CS pushed
  iret

v86_vip:
  sti                          ; VIP set: #GP(0)
v86_after_sti:
  ud2
bits 32

LIBCODE
FOOTER
