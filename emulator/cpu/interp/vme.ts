/**
 * Virtual-8086 mode extensions (CR4.VME) and protected-mode virtual interrupts (CR4.PVI):
 * the virtual interrupt flag VIF and the pending flag VIP stand in for IF where IOPL
 * would otherwise make CLI/STI/PUSHF/POPF/IRET fault, and INT n in v86 mode can be
 * redirected through the v86 task's own interrupt vector table by the interrupt
 * redirection bitmap of the TSS.
 *
 * Follows Intel SDM Vol. 3A 20.3 (interrupt and exception handling in v86 mode: Table 20-2,
 * methods 1-6; 20.3.2 the redirection bitmap, the 32 bytes below the I/O map base) and
 * 20.4 (PVI: CLI/STI at CPL 3 with IOPL < 3), with the pseudo-code of CLI, STI, PUSHF,
 * POPF, IRET and INT n in Vol. 2. Only the 16-bit forms of PUSHF/POPF/IRET are virtualised;
 * PUSHFD/POPFD/IRETD in v86 mode with IOPL < 3 still raise #GP(0). INT3, INTO and INT1 are
 * not redirected (the bitmap applies to INT n).
 */
import { CS, CR4_PVI, CR4_VME, EXC_GP, IF, IOPL, TF, TR, VIF, VIP } from './state.js';
import type { SystemCore } from './system.js';

/** What the VME/PVI helpers need from the core. */
type VmeCpu = SystemCore;

function iopl(cpu: VmeCpu): number {
  return (cpu.flags & IOPL) >> 12;
}

/**
 * CLI/STI when IOPL does not allow them (v86 with IOPL < 3, or CPL > IOPL): with VME (v86)
 * or PVI (CPL 3) they clear / set VIF instead, STI faulting while VIP is set; otherwise
 * #GP(0).
 */
export function virtualCliSti(cpu: VmeCpu, set: boolean): void {
  const ok = cpu.vm86 ? (cpu.cr4 & CR4_VME) !== 0 : cpu.cpl === 3 && (cpu.cr4 & CR4_PVI) !== 0;
  if (!ok) cpu.raise(EXC_GP, 0);
  if (!set) { cpu.flags &= ~VIF; return; }
  if (cpu.flags & VIP) cpu.raise(EXC_GP, 0);
  cpu.flags |= VIF;
}

/** True when a 16-bit PUSHF/POPF/IRET in v86 mode with IOPL < 3 is virtualised (CR4.VME). */
export function vmeFlagsVirtual(cpu: VmeCpu, size32: boolean): boolean {
  return !size32 && (cpu.cr4 & CR4_VME) !== 0;
}

/** FLAGS as a virtualised PUSHF (or a redirected INT n) pushes them: IF from VIF, IOPL 3. */
export function virtualFlags16(cpu: VmeCpu): number {
  const f = cpu.getFlags();
  return ((f & ~(IF | IOPL)) | (f & VIF ? IF : 0) | IOPL) & 0xffff;
}

/**
 * Loads FLAGS popped by a virtualised POPF/IRET: #GP(0) when they set TF, or set IF while
 * VIP is pending; otherwise VIF takes their IF and IF/IOPL stay.
 */
export function loadVirtualFlags16(cpu: VmeCpu, v: number): void {
  if ((v & TF) || ((v & IF) && (cpu.flags & VIP))) cpu.raise(EXC_GP, 0);
  const cur = cpu.getFlags(), keep = IF | IOPL;
  const f = (cur & ~0xffff) | (cur & keep) | (v & 0xffff & ~keep);
  cpu.flags = (((f & ~VIF) | (v & IF ? VIF : 0)) & ~0xffc08028) | 2;
  cpu.flagsDirty = 0;
}

/** Virtualised 16-bit IRET in v86 mode (IOPL < 3, CR4.VME). */
export function vmeIret16(cpu: VmeCpu): void {
  const ip = cpu.peekStack(0, 2);
  const cs = cpu.peekStack(2, 2);
  const fl = cpu.peekStack(4, 2);
  loadVirtualFlags16(cpu, fl);
  cpu.loadSegReal(CS, cs);
  cpu.eip = ip;
  cpu.adjustSp(6);
}

/**
 * INT n in v86 mode with CR4.VME (SDM Table 20-2): a clear bit `vector` in the TSS's
 * interrupt redirection bitmap sends the interrupt through the v86 task's IVT at linear 0
 * (methods 5 and 6); a set bit goes to the protected-mode handler with IOPL 3 (method 4)
 * and raises #GP(0) with IOPL < 3. Returns true when the interrupt was redirected here.
 */
export function vmeRedirect(cpu: VmeCpu, vector: number): boolean {
  const base = cpu.segBase[TR], limit = cpu.segLimit[TR] >>> 0;
  if ((cpu.segAttr[TR] & 8) === 0 || limit < 0x67) cpu.raise(EXC_GP, 0);
  const mapBase = cpu.sysRead16(base + 0x66);
  const byteOff = mapBase - 32 + (vector >> 3);
  if (byteOff < 0 || byteOff > limit) cpu.raise(EXC_GP, 0);
  const redirected = (cpu.sysRead8(base + byteOff) & (1 << (vector & 7))) === 0;
  if (!redirected) {
    if (iopl(cpu) < 3) cpu.raise(EXC_GP, 0);
    return false;
  }
  const ip = cpu.readU16(vector * 4);
  const cs = cpu.readU16(vector * 4 + 2);
  const virt = iopl(cpu) < 3;
  const flags = virt ? virtualFlags16(cpu) : cpu.getFlags() & 0xffff;
  cpu.push16(flags);
  cpu.push16(cpu.segSel[CS]);
  cpu.push16(cpu.eip);
  cpu.flags &= ~(TF | (virt ? VIF : IF));
  cpu.loadSegReal(CS, cs);
  cpu.eip = ip;
  cpu.attention = true;
  return true;
}
