; smp-ipi.asm - two-CPU start-up on the pc board (64 KiB BIOS image, real mode).
; The BSP relocates its local APIC to 0x90000 through IA32_APIC_BASE, sends INIT and a
; STARTUP IPI (vector 08h: the AP starts at 0800:0000) to all but itself, and sleeps until
; the AP answers. The AP prints its initial APIC ID (CPUID.1:EBX[31:24]), counts itself,
; moves its own APIC to the same 0x90000 (each CPU sees its own APIC there), and sends the
; BSP a fixed IPI (vector 40h). Expected on debugcon 0xE9 (see smp.test.ts), then exit 0x21.
%include "lib.inc"
bits 16
org 0

APIC_SEG  equ 0x9000        ; both APICs relocated to 0x90000
TRAMP     equ 0x8000        ; SIPI vector 08h
COUNT     equ 0x500         ; APs that started
GOT_IPI   equ 0x504         ; set by the BSP's vector 40h handler

start:
  cli
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  mov ds, ax
  mov es, ax
  mov eax, 1
  cpuid
  shr ebx, 24
  PRINT "BSP id="
  HEX ebx
  bt edx, 9                 ; CPUID.1:EDX.APIC
  setc al
  movzx eax, al
  PRINT "apic="
  HEX eax
  mov ecx, 0x1b
  rdmsr
  PRINT "base="
  HEX eax
  NL
  mov eax, 0x00090900       ; base 0x90000, EN, BSP (read-only anyway)
  xor edx, edx
  wrmsr
  mov ax, APIC_SEG
  mov fs, ax
  mov dword [fs:0xf0], 0x1ff ; SVR: software enable, spurious vector FFh
  mov word [0x40*4], ipi_handler
  mov word [0x40*4+2], 0xf000
  mov byte [TRAMP], 0xea    ; jmp far f000:ap_main
  mov word [TRAMP+1], ap_main
  mov word [TRAMP+3], 0xf000
  mov dword [COUNT], 0
  mov byte [GOT_IPI], 0
  mov dword [fs:0x310], 0
  mov dword [fs:0x300], 0x000c4500 ; INIT, level assert, all excluding self
  mov dword [fs:0x300], 0x000c4608 ; STARTUP vector 08h, all excluding self
.wait:
  sti
  hlt
  cli
  cmp byte [GOT_IPI], 1
  jne .wait
  PRINT "BSP ipi count="
  mov eax, [COUNT]
  HEX eax
  mov eax, [fs:0x20]        ; the BSP's own APIC ID register at the shared address
  HEX eax
  NL
  EXIT 0x10

ipi_handler:
  push ds
  push ax
  xor ax, ax
  mov ds, ax
  mov byte [GOT_IPI], 1
  mov dword [fs:0xb0], 0    ; EOI
  pop ax
  pop ds
  iret

ap_main:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x6000
  mov eax, 1
  cpuid
  shr ebx, 24
  PRINT "AP id="
  HEX ebx
  lock inc dword [COUNT]
  mov ecx, 0x1b
  rdmsr
  PRINT "base="
  HEX eax
  mov eax, 0x00090800       ; base 0x90000, EN
  xor edx, edx
  wrmsr
  mov ax, APIC_SEG
  mov fs, ax
  mov eax, [fs:0x20]        ; own APIC ID register
  HEX eax
  NL
  mov dword [fs:0xf0], 0x1ff
  mov dword [fs:0x310], 0   ; destination APIC ID 0
  mov dword [fs:0x300], 0x00004040 ; fixed, vector 40h, physical
.park:
  cli
  hlt
  jmp .park

LIBCODE
FOOTER
