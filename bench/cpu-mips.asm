; cpu-mips.asm - flat BIOS image for the CPU microbenchmark (bench/cpu-mips.mjs).
;
; Assembled with `nasm -f bin -DITER=<n>` into 64 KiB linked at 0xF0000 (the harness pads it
; in front to 128 KiB, so the last 64 KiB appear at 0xF0000 on every PC). From the reset
; vector it enters flat 32-bit protected mode (paging off), copies the loop into RAM at
; 0x10000, writes "S\n" to COM1, runs ITER iterations of exactly LOOP_INSNS instructions
; (loads, stores, ALU, LEA, IMUL, CALL/RET, PUSH/POP, a data-dependent branch whose two
; paths have the same length, and the loop branch), writes "D\n" to COM1, then writes 0 to
; the isa-debug-exit port 0xF4 and halts. The serial bytes let every emulator time the loop
; alone (v86 has no isa-debug-exit device: its runner stops on "D").
;
; Instructions retired in total = ITER * LOOP_INSNS + the setup and exit code (fewer than
; 100); bench/cpu-mips.mjs holds the same constant LOOP_INSNS.

%ifndef ITER
  %define ITER 1000000
%endif
%define LOOP_INSNS 20
%define BASE 0xF0000
%define RAM_CODE 0x10000
%define DATA 0x4000

bits 16
org 0

start16:
  cli
  cld
  xor ax, ax
  mov ds, ax
  o32 lgdt [cs:gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:(BASE + start32)

bits 32
start32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov fs, ax
  mov gs, ax
  mov esp, 0x80000
  ; copy the loop into RAM (code in RAM, like any OS)
  mov esi, BASE + loop_start
  mov edi, RAM_CODE
  mov ecx, (loop_end - loop_start + 3) / 4
  rep movsd
  mov dx, 0x3f8
  mov al, 'S'
  out dx, al
  mov al, 10
  out dx, al
  xor esi, esi
  xor edi, edi
  xor ebx, ebx
  mov ecx, ITER
  mov eax, RAM_CODE
  call eax
  mov dx, 0x3f8
  mov al, 'D'
  out dx, al
  mov al, 10
  out dx, al
  mov al, 0
  out 0xf4, al
.halt:
  cli
  hlt
  jmp .halt

; ---- copied to RAM_CODE; position independent ----
align 4
loop_start:
.loop:
  mov eax, [esi + DATA]            ; 1  load
  add eax, ecx                     ; 2
  xor eax, 0x55aa                  ; 3
  mov [esi + DATA], eax            ; 4  store
  lea ebx, [ebx + eax * 2 + 1]     ; 5
  imul ebx, ebx, 3                 ; 6
  add esi, 4                       ; 7
  and esi, 0xffc                   ; 8
  call .sub                        ; 9
  movzx edx, byte [esi + DATA + 1] ; 14
  cmp edx, 0x80                    ; 15
  jb .low                          ; 16
  inc edi                          ; 17
  jmp .join                        ; 18
.low:
  dec edi                          ; 17
  jmp .join                        ; 18
.join:
  dec ecx                          ; 19
  jnz .loop                        ; 20
  ret
.sub:
  push ebx                         ; 10
  shl ebx, 1                       ; 11
  pop ebx                          ; 12
  ret                              ; 13
loop_end:

align 8
gdt:
  dq 0
  dq 0x00cf9b000000ffff            ; 0x08: code, base 0, 4 GiB, 32-bit
  dq 0x00cf93000000ffff            ; 0x10: data, base 0, 4 GiB
gdt_end:
gdtr:
  dw gdt_end - gdt - 1
  dd BASE + gdt

  times 0xfff0 - ($ - $$) db 0xff
bits 16
reset:
  jmp 0xf000:start16
  times 0x10000 - ($ - $$) db 0xff
