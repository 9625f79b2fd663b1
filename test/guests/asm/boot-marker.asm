; A boot sector that proves the firmware loaded it: prints a marker on the debug console
; (port 0xe9), then leaves through isa-debug-exit (port 0xf4) with exit status (0x10<<1)|1 = 33.
bits 16
org 0x7c00
start:
    cli
    xor ax, ax
    mov ds, ax
    mov si, msg
.next:
    lodsb
    test al, al
    jz .done
    out 0xe9, al
    jmp .next
.done:
    mov al, 0x10
    out 0xf4, al
.hang:
    hlt
    jmp .hang
msg: db "BOOT-SECTOR-RAN", 10, 0
times 510-($-$$) db 0
dw 0xaa55
