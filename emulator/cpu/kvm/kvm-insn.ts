/**
 * kvm-insn: the few instructions KvmCpu completes itself when KVM reports it could not
 * emulate them (KVM_EXIT_INTERNAL_ERROR, suberror KVM_INTERNAL_ERROR_EMULATION, with the
 * instruction bytes of api.rst 5 "emulation_failure", flag
 * KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES).
 *
 * Today: RDRAND and RDSEED with a register operand (0F C7 /6 and /7, mod = 11; Intel SDM
 * Vol. 2B). Some nested hosts run the guest's RDRAND as a #UD-like exit that KVM hands to
 * its emulator, which has no RDRAND; the guest (Linux's decompressor seeding KASLR, the
 * kernel's random pool) then stops. Completing them in userspace costs one exit each.
 *
 * Pure decoding: no system calls here.
 */

/** A decoded RDRAND/RDSEED. */
export interface RandInsn {
  readonly kind: 'rdrand' | 'rdseed';
  /** Instruction length in bytes (prefixes included). */
  readonly length: number;
  /** Destination register in x86 encoding order (0 = AX, 1 = CX, ... 8-15 = R8-R15). */
  readonly reg: number;
  /** Operand size in bytes. */
  readonly size: 2 | 4 | 8;
}

const LEGACY_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/**
 * Decodes `bytes` as RDRAND/RDSEED r16/r32/r64, or returns null for anything else.
 * `codeBits` is the code segment's default size: 16 (real mode, or CS.D = 0), 32, or 64
 * (long mode with CS.L = 1).
 */
export function decodeRandInsn(bytes: Uint8Array, codeBits: 16 | 32 | 64): RandInsn | null {
  let i = 0;
  let opsize = false;
  let rex = 0;
  while (i < bytes.length && i < 14) {
    const b = bytes[i]!;
    if (LEGACY_PREFIXES.has(b)) {
      if (b === 0x66) opsize = true;
      rex = 0; // a REX prefix counts only right before the opcode
      i++;
    } else if (codeBits === 64 && b >= 0x40 && b <= 0x4f) {
      rex = b;
      i++;
    } else {
      break;
    }
  }
  if (i + 3 > bytes.length || bytes[i] !== 0x0f || bytes[i + 1] !== 0xc7) return null;
  const modrm = bytes[i + 2]!;
  const mod = modrm >> 6;
  const ext = (modrm >> 3) & 7;
  if (mod !== 3 || (ext !== 6 && ext !== 7)) return null;
  // F2/F3 with 0F C7 /6 /7 are other instructions (none with mod = 11 today, but be strict).
  for (let j = 0; j < i; j++) if (bytes[j] === 0xf2 || bytes[j] === 0xf3) return null;
  let size: 2 | 4 | 8;
  if (codeBits === 64 && (rex & 8) !== 0) size = 8;
  else if (codeBits === 16) size = opsize ? 4 : 2;
  else size = opsize ? 2 : 4;
  return { kind: ext === 6 ? 'rdrand' : 'rdseed', length: i + 3, reg: (modrm & 7) | ((rex & 1) << 3), size };
}

/** struct kvm_regs byte offset of the register with x86 encoding `reg` (0-15). */
export function kvmRegOffset(reg: number): number {
  // kvm_regs order: rax rbx rcx rdx rsi rdi rsp rbp r8..r15.
  const low = [0, 16, 24, 8, 48, 56, 32, 40];
  return reg < 8 ? low[reg]! : 64 + 8 * (reg - 8);
}
