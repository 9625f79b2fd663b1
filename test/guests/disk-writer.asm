; Vireo test guest: a boot sector that writes disk sectors with BIOS INT 13h extended
; write (AH=43h, disk address packet), pass after pass, for the qcow2 crash tests
; (test/guests/disk-crash.test.ts; assembled at test time by test/fixtures/disk-writer.ts).
;
; Pass p writes, for i = 0 .. NWRITES-1, COUNT sectors starting at
;     lba(p, i) = FIRST + i*STRIDE + (p mod SHIFTS)*SHIFT
; so successive passes land on new clusters (allocations, new L2 tables and refcount
; blocks) until p wraps around SHIFTS, then rewrite in place. Every sector written is
; stamped so a reader can check it without knowing when the run stopped:
;     bytes 0..3 'VWSS', 4..7 the sector's own LBA, 8..11 p, 12..15 i,
;     byte j (16..511) = (3*LBA + 5*p + j) mod 256.
; After each pass the counter sector (LBA 1) gets 'VWCT', p, then zeros, and
; "VW pass XXXXXXXX" goes to the debug port 0xe9. A new boot resumes after the
; pass the counter sector names. With PASSES > 0 the writer stops before pass PASSES,
; prints "VW-DONE" and spins; with PASSES = 0 it never stops.
; On a BIOS error it prints "VW-ERROR" and the BIOS status (AH), and spins.

bits 16
cpu 386
org 0x7c00

%ifndef NWRITES
%define NWRITES 16
%endif
%ifndef STRIDE
%define STRIDE 262144
%endif
%ifndef SHIFT
%define SHIFT 131
%endif
%ifndef SHIFTS
%define SHIFTS 1024
%endif
%ifndef COUNT
%define COUNT 3
%endif
%ifndef PASSES
%define PASSES 0
%endif
%define FIRST 2
%define COUNTER_LBA 1
%define BUF 0x8000
%define MAGIC_SECTOR 0x53535756 ; 'VWSS'
%define MAGIC_COUNTER 0x54435756 ; 'VWCT'

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    jmp 0:.flat
.flat:
    mov [drive], dl

    ; resume after the pass recorded in the counter sector
    mov dword [dap_lba], COUNTER_LBA
    mov word [dap_count], 1
    mov ah, 0x42
    call disk_io
    xor eax, eax
    cmp dword [BUF], MAGIC_COUNTER
    jne .fresh
    mov eax, [BUF + 4]
    inc eax
.fresh:
    mov [pass], eax
    mov si, msg_start
    call puts
    mov eax, [pass]
    call puthex
    call newline

pass_loop:
%if PASSES > 0
    cmp dword [pass], PASSES
    jae done
%endif
    mov dword [idx], 0
write_loop:
    ; lba = FIRST + idx*STRIDE + (pass mod SHIFTS)*SHIFT
    mov eax, [pass]
    xor edx, edx
    mov ecx, SHIFTS
    div ecx
    mov eax, edx
    mov ecx, SHIFT
    mul ecx
    mov ebx, eax
    mov eax, [idx]
    mov ecx, STRIDE
    mul ecx
    add eax, ebx
    add eax, FIRST
    mov [dap_lba], eax
    call fill
    mov word [dap_count], COUNT
    mov ax, 0x4300
    call disk_io
    inc dword [idx]
    cmp dword [idx], NWRITES
    jb write_loop

    ; the counter sector: 'VWCT', pass, zeros
    mov di, BUF
    mov eax, MAGIC_COUNTER
    stosd
    mov eax, [pass]
    stosd
    xor eax, eax
    mov cx, 126
    rep stosd
    mov dword [dap_lba], COUNTER_LBA
    mov word [dap_count], 1
    mov ax, 0x4300
    call disk_io

    mov si, msg_pass
    call puts
    mov eax, [pass]
    call puthex
    call newline
    inc dword [pass]
    jmp pass_loop

done:
    mov si, msg_done
    call puts
    call newline
spin:
    jmp spin

; Stamps COUNT sectors at BUF for the write at [dap_lba] of pass [pass], index [idx].
fill:
    mov di, BUF
    mov ebx, [dap_lba]
    mov cx, COUNT
.sector:
    push cx
    mov eax, MAGIC_SECTOR
    stosd
    mov eax, ebx
    stosd
    mov eax, [pass]
    stosd
    mov eax, [idx]
    stosd
    ; al = 3*lba + 5*pass + 16 (mod 256)
    mov al, bl
    mov ah, bl
    add al, ah
    add al, ah
    mov ah, [pass]
    add al, ah
    add al, ah
    add al, ah
    add al, ah
    add al, ah
    add al, 16
    mov cx, 512 - 16
.byte:
    stosb
    inc al
    loop .byte
    inc ebx
    pop cx
    loop .sector
    ret

; INT 13h with AX as given and DS:SI -> dap; spins with a message on error.
disk_io:
    mov dl, [drive]
    mov si, dap
    int 0x13
    jc .error
    ret
.error:
    push ax
    mov si, msg_error
    call puts
    pop ax
    movzx eax, ah
    call puthex
    call newline
    jmp spin

; Prints the NUL-terminated string at DS:SI on port 0xe9.
puts:
    mov dx, 0xe9
.next:
    lodsb
    test al, al
    jz .end
    out dx, al
    jmp .next
.end:
    ret

; Prints EAX as 8 hex digits on port 0xe9.
puthex:
    mov dx, 0xe9
    mov cx, 8
.digit:
    rol eax, 4
    push eax
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    out dx, al
    pop eax
    loop .digit
    ret

newline:
    mov dx, 0xe9
    mov al, 10
    out dx, al
    ret

msg_start: db 'VW start ', 0
msg_pass:  db 'VW pass ', 0
msg_done:  db 'VW-DONE', 0
msg_error: db 'VW-ERROR ', 0

align 4
dap:
    db 16, 0
dap_count: dw 1
dap_buf:   dw BUF, 0
dap_lba:   dd 0, 0
drive: db 0x80
align 4
pass: dd 0
idx:  dd 0

times 510 - ($ - $$) db 0
dw 0xaa55
