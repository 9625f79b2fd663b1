; Vireo test guest: a boot sector that echoes COM1. It programs the 16550 (115200 8N1,
; FIFOs on), prints "ECHO-READY" and CR LF, then sends back every byte it receives,
; unchanged, forever (polling the line status register; no interrupts).
; Assembled at test time (main/host/vm-supervisor-pty.test.ts); never committed as a binary.
bits 16
org 0x7c00
start:
    cli
    xor ax, ax
    mov ds, ax
    mov dx, 0x3f9       ; IER: no interrupts
    xor al, al
    out dx, al
    mov dx, 0x3fb       ; LCR: DLAB on
    mov al, 0x80
    out dx, al
    mov dx, 0x3f8       ; divisor 1 = 115200 baud
    mov al, 1
    out dx, al
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, 0x3fb       ; LCR: 8N1, DLAB off
    mov al, 0x03
    out dx, al
    mov dx, 0x3fa       ; FCR: FIFOs on and cleared
    mov al, 0x07
    out dx, al
    mov si, msg
.banner:
    lodsb
    test al, al
    jz echo
    call putc
    jmp .banner
echo:
    mov dx, 0x3fd       ; LSR: wait for Data Ready
.wait:
    in al, dx
    test al, 0x01
    jz .wait
    mov dx, 0x3f8
    in al, dx
    call putc
    jmp echo
putc:                   ; sends AL when the transmitter holding register is empty
    mov ah, al
    mov dx, 0x3fd
.thre:
    in al, dx
    test al, 0x20
    jz .thre
    mov al, ah
    mov dx, 0x3f8
    out dx, al
    ret
msg: db "ECHO-READY", 13, 10, 0
times 510-($-$$) db 0
dw 0xaa55
