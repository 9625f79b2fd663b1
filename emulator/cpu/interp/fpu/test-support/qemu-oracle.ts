/**
 * Differential-test tooling for the x87 / SIMD units: builds a flat 256 KiB BIOS around a block
 * of test instructions (nasm), runs it on QEMU TCG (results cached by content hash under
 * os.tmpdir()/vireo-cache/fpu-diff, never committed), and replays the same instruction block
 * on the units through a minimal decoder that only knows absolute [disp32] operands.
 *
 * The BIOS: reset vector -> 16-bit stub -> flat 32-bit protected mode, CR0.EM=0, MP=NE=1,
 * CR4.OSFXSR|OSXMMEXCPT, copies the input blob to DATA_BASE, clears OUT_BASE, runs the block,
 * dumps OUT_BASE as hex to debugcon (port 0xe9) and exits through isa-debug-exit (0xf4).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHost } from '../fake-host.js';
import { x87Execute, x87Wait } from '../x87.js';
import type { X87State } from '../x87-state.js';
import { simdExecute, simdOwns } from '../../simd/simd.js';
import type { SimdState } from '../../simd/simd-state.js';

/** Where the input blob is placed in guest RAM. */
export const DATA_BASE = 0x10000;
/** Where the outputs are written in guest RAM. */
export const OUT_BASE = 0x30000;
const CACHE = join(tmpdir(), 'vireo-cache', 'fpu-diff');

/** Returns a skip reason when nasm or qemu-system-i386 is missing. */
export function toolsMissing(): string | undefined {
  const miss: string[] = [];
  if (spawnSync('nasm', ['-v'], { stdio: 'ignore' }).status !== 0) miss.push('nasm');
  if (spawnSync('qemu-system-i386', ['--version'], { stdio: 'ignore' }).status !== 0) miss.push('qemu-system-i386');
  return miss.length ? `missing ${miss.join(', ')}` : undefined;
}

function nasm(source: string, name: string): string {
  mkdirSync(CACHE, { recursive: true });
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const out = join(CACHE, `${name}-${hash}.bin`);
  if (!existsSync(out)) {
    const src = join(CACHE, `${name}-${hash}.${process.pid}.asm`);
    writeFileSync(src, source);
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync('nasm', ['-f', 'bin', '-o', tmp, src], { encoding: 'utf8' });
    rmSync(src, { force: true });
    if (r.status !== 0) throw new Error(`nasm failed (${name}): ${r.stderr}`);
    renameSync(tmp, out); // atomic: concurrent runs never read a partial image
  }
  return out;
}

function dbBlock(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 32) lines.push('  db ' + Array.from(bytes.subarray(i, i + 32)).join(','));
  return lines.join('\n');
}

/** Assembles the instruction block alone (32-bit, absolute addresses) for the replay. */
export function assembleBlock(asm: string): Uint8Array {
  return new Uint8Array(readFileSync(nasm(`bits 32\n${asm}\n`, 'block')));
}

/** Builds the 256 KiB test BIOS around `asm` (cached) and returns its path. */
export function buildBios(asm: string, data: Uint8Array, outLen: number): string {
  // A 256 KiB image: the 32-bit test code sits at the start (reached only through flat
  // protected mode), the 16-bit stub and the GDT in the last 64 KiB (also visible at F000:0).
  const size = 0x40000;
  const base = 0x100000000 - size;
  const last64 = 0x100000000 - 0x10000;
  const src = `
bits 32
org ${base}
start32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov fs, ax
  mov gs, ax
  mov esp, 0x9000
  mov eax, cr0
  and eax, ~0x0c
  or eax, 0x22
  mov cr0, eax
  mov eax, cr4
  or eax, 0x600
  mov cr4, eax
  cld
  mov esi, data_init
  mov edi, ${DATA_BASE}
  mov ecx, ${data.length}
  rep movsb
  mov edi, ${OUT_BASE}
  mov ecx, ${outLen}
  xor eax, eax
  rep stosb
  fninit
${asm}
  mov esi, ${OUT_BASE}
  mov ecx, ${outLen}
.dump:
  lodsb
  mov bl, al
  shr al, 4
  call hex
  mov al, bl
  and al, 15
  call hex
  loop .dump
  mov al, 10
  out 0xe9, al
  xor eax, eax
  out 0xf4, al
  hlt
hex:
  cmp al, 10
  jb .digit
  add al, 'a' - 10 - '0'
.digit:
  add al, '0'
  out 0xe9, al
  ret
data_init:
${dbBlock(data)}
  times ${size - 0x10000} - ($ - $$) db 0
bits 16
start16:
  cli
  o32 lgdt [cs:gdt_desc - ${last64}]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp dword 0x08:start32
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff
  dq 0x00cf92000000ffff
gdt_desc:
  dw 23
  dd gdt
  times ${size - 16} - ($ - $$) db 0
  jmp 0xf000:start16 - ${last64}
  times ${size} - ($ - $$) db 0
`;
  return nasm(src, 'bios');
}

/** Parses the hex dump the test BIOS writes to debugcon. */
export function parseDump(hex: string, outLen: number): Uint8Array {
  const bytes = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Builds the BIOS, runs it on QEMU (cached) and returns the OUT_BASE bytes it dumped. */
export function runOnQemu(asm: string, data: Uint8Array, outLen: number, cpu = 'max'): Uint8Array {
  const bios = buildBios(asm, data, outLen);
  const txt = bios.replace(/\.bin$/, `.${cpu}.out`);
  if (!existsSync(txt)) {
    const tmp = `${txt}.${process.pid}.tmp`;
    spawnSync('qemu-system-i386', ['-accel', 'tcg', '-cpu', cpu, '-nographic', '-bios', bios, '-debugcon', `file:${tmp}`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-display', 'none', '-no-reboot', '-m', '16',
      '-serial', 'none', '-monitor', 'none', '-net', 'none'], { timeout: 60_000, stdio: 'ignore' });
    const out = existsSync(tmp) ? readFileSync(tmp, 'latin1').trim() : '';
    rmSync(tmp, { force: true });
    if (out.length !== outLen * 2) throw new Error(`QEMU produced ${out.length / 2} of ${outLen} bytes`);
    writeFileSync(`${txt}.${process.pid}`, out);
    renameSync(`${txt}.${process.pid}`, txt);
  }
  return parseDump(readFileSync(txt, 'latin1'), outLen);
}

/** SIMD opcodes followed by an imm8. */
const IMM8 = new Set([0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]);

/**
 * Replays an assembled block on the units. Understands prefixes 66/F2/F3, D8-DF, 9B, 0F xx of
 * the SIMD table, PUSHFD + POP m32, MOV m32,r32 / MOV r32,m32 (ModRM with disp32 only, or A1/A3).
 */
export function replay(code: Uint8Array, x87: X87State, simd: SimdState, host: FakeHost): void {
  let pos = 0;
  let pushed = 0;
  const disp = (): number => {
    const v = code[pos]! | (code[pos + 1]! << 8) | (code[pos + 2]! << 16) | (code[pos + 3]! << 24);
    pos += 4;
    return v >>> 0;
  };
  const modrmOp = (mand: 0 | 0x66 | 0xf2 | 0xf3, opsize: boolean) => {
    const modrm = code[pos++]!;
    let linear = -1;
    if (modrm < 0xc0) {
      if ((modrm & 0xc7) !== 0x05) throw new Error(`replay: only [disp32] operands (modrm ${modrm.toString(16)} at ${pos - 1})`);
      linear = disp();
    }
    return { modrm, linear, opsize, mandatoryPrefix: mand };
  };
  while (pos < code.length) {
    const start = pos;
    host.instructionPointer = start;
    let mand: 0 | 0x66 | 0xf2 | 0xf3 = 0;
    let opsize = false;
    for (;;) {
      const b = code[pos]!;
      if (b === 0x66 || b === 0xf2 || b === 0xf3) {
        mand = b;
        if (b === 0x66) opsize = true;
        pos++;
      } else break;
    }
    const b = code[pos++]!;
    if (b >= 0xd8 && b <= 0xdf) {
      host.operandSize32 = !opsize;
      x87Execute(x87, host, b, modrmOp(mand, opsize));
      host.operandSize32 = true;
    } else if (b === 0x9b) x87Wait(x87, host);
    else if (b === 0x0f) {
      const op2 = code[pos++]!;
      if (!simdOwns(op2, mand)) throw new Error(`replay: 0f ${op2.toString(16)} not a SIMD opcode`);
      // EMMS (0F 77) has no ModRM byte
      const op = op2 === 0x77 ? { modrm: 0xc0, linear: -1, opsize, mandatoryPrefix: mand } : modrmOp(mand, opsize);
      if (IMM8.has(op2)) host.imm.push(code[pos++]!);
      simdExecute(simd, host, op2, op);
    } else if (b === 0x9c) pushed = host.eflags;
    else if (b === 0x8f) host.writeU32(modrmOp(0, false).linear, pushed);
    else if (b === 0x89) {
      const op = modrmOp(0, false);
      host.writeU32(op.linear, host.regs[(op.modrm >> 3) & 7]!);
    } else if (b === 0x8b) {
      const op = modrmOp(0, false);
      host.regs[(op.modrm >> 3) & 7] = host.readU32(op.linear);
    } else if (b === 0xa1) host.regs[0] = host.readU32(disp());
    else if (b === 0xa3) host.writeU32(disp(), host.regs[0]!);
    else throw new Error(`replay: unsupported opcode ${b.toString(16)} at ${start}`);
  }
}
