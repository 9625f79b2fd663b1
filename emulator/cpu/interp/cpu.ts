/**
 * InterpCpu: the interpreter CPU backend (a P6-class IA-32 core) implementing `CpuBackend`.
 *
 * Owns the run loop: instruction stepping within a budget, fault unwinding and
 * exception delivery with the double-fault / triple-fault rules (SDM Vol. 3A §6.15,
 * Table 6-5), external interrupts through `InterruptSource` (INTR + INTA), NMI with
 * blocking until IRET, the one-instruction interrupt shadow after MOV SS / POP SS / STI,
 * HLT, TF single-step traps, debug-register breakpoints (debug-registers.ts: stepping
 * instruction by instruction while DR7 enables any), the A20 gate, reset state (SDM Vol. 3A
 * §9.1.1, Table 9-1), and the bridge to the x87/SIMD units (`CoprocessorHost`). Leaves
 * out: SMM (RSM is #UD), INIT/SIPI (machine/smp-cpus.ts resets and starts CPUs from
 * outside), machine checks, I/O breakpoints (DR7 R/W = 10b never match).
 *
 * Speed: no allocation per instruction; registers in typed arrays; lazy flags; software
 * TLB with a direct RAM fast path. `measureMips` (bench.ts) times a CPU-bound loop.
 * The main speedup lives in `burst` (the hot loop) and in the small per-opcode handler
 * methods of exec.ts / exec-0f.ts. Why: V8 does not inline anything into a function as
 * large as the `exec` switch, so every helper called from a case body (decodeModrm,
 * readE32, alu, lazy, push32...) was a real call, and each instruction paid
 * run -> step -> exec -> handler calls plus an 11-way compare chain for the prefix bytes.
 * Now `burst` dispatches the first opcode byte (and the frequent 0F opcodes) through one
 * dense switch (a jump table) straight to small handlers that get their helpers inlined.
 * Measured 2026-11-24 on the shared 2-core dev box (Node 20), old core = 1e01850's
 * interpreter on the same tree, A/B interleaved in one process, medians of 7 runs:
 * `measureMips(20e6)` 29.3 -> 42.1 MIPS per CPU-second (1.44x; wall 10.0 -> 14.8 MIPS at
 * load ~5 from other users). Linux test ISO, both cores booting side by side, kernel
 * decompressor (from isolinux "initrd ...ok" to the kernel's first line): 101.0 -> 84.3
 * CPU-seconds (1.20x), 372 -> 291 s wall (1.28x).
 * Deterministic SeaBIOS boot: identical port/MMIO trace (values, EIPs, instruction
 * counts) with both cores; its 6 M instructions are dominated by JIT warm-up, where the
 * bigger hot loop costs ~10 % more CPU.
 * Since then the hot loop (`burst`, exec-cached.ts) runs the frequent instructions from a
 * decoded-instruction cache (decode-cache.ts) keyed by backing-store offset and
 * invalidated per page through `GuestMemory.codeWatch`; the switch below is the
 * fetch-and-decode path (`legacyStep`) for everything else.
 */
import { CpuExit, type CpuBackend, type CpuRegs, type InterruptSource, type VmOps } from '../backend.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PhysMap } from '../../memory/phys-map.js';
import type { CoprocessorHost, ModRmOperand } from './coprocessor.js';
import {
  ARITH_FLAGS, CR0_CD, CR0_ET, CR0_NW, CS, DS, EDI, EDX, ES, ESP, EXC_DF, EXC_NMI, EXC_PF, FS, GS, IF, LDTR,
  SS, TR, VM, CR0_MP, CR0_TS, EXC_NM, TF, EXC_DB, RF,
} from './state.js';
import { CachedExecutor } from './exec-cached.js';
import { jitOptionsFromEnv, type JitOptions } from './jit/jit-cache.js';
import type { CpuLogger } from './exec.js';
import { DEFAULT_FEATURES, type CpuFeatures } from './features.js';
import type { CoprocessorHostExt } from './fpu/host-ext.js';
import type { ApicMsrAccess } from '../../devices/apic/lapic.js';
import { createX87State, x87Init } from './fpu/x87-state.js';
import { x87Execute, x87Wait } from './fpu/x87.js';
import { createSimdState, loadSimdState, resetSimdState, saveSimdState } from './simd/simd-state.js';
import { loadX87State, saveX87State } from './fpu/x87-state.js';
import { parseCpuSnapshot, type InterpCpuSnapshot } from './snapshot.js';
import { simdExecute, simdOwns } from './simd/simd.js';
import { DR6_BS, instructionHits } from './debug-registers.js';

/** Constructor dependencies of the interpreter. */
export interface InterpCpuOptions {
  /** Backing store (RAM, ROMs) shared with devices. */
  readonly mem: GuestMemory;
  /** Guest-physical page map of the low 4 GiB. */
  readonly physMap: PhysMap;
  /** Port I/O and MMIO slow path. */
  readonly ops: VmOps;
  /** The INTR line and INTA cycle (PIC / APIC). */
  readonly interrupts: InterruptSource;
  /** Diagnostics (unimplemented opcodes, unknown MSRs); rate-limited by the CPU. */
  readonly log?: CpuLogger;
  /** Overrides of the CPUID feature set. */
  readonly features?: Partial<CpuFeatures>;
  /** FERR# output (legacy x87 error reporting, usually wired to IRQ 13). */
  readonly onFerr?: () => void;
  /** TSC source (virtual ns: a 1 GHz TSC); default: retired instructions. */
  readonly tsc?: () => number;
  /**
   * This CPU's local APIC: RDMSR/WRMSR of IA32_APIC_BASE (0x1B) and IA32_TSC_DEADLINE
   * (0x6E0) go to it, and CPUID.1:EDX.APIC is reported while it is globally enabled
   * (SDM Vol. 3A 11.4.3-11.4.4). Without it the CPU has no APIC unless `features.apic`.
   */
  readonly apic?: ApicMsrAccess;
  /** Initial APIC ID, reported in CPUID.1:EBX[31:24] (SDM Vol. 3A 11.4.6); default 0. */
  readonly apicId?: number;
  /**
   * The block translator (jit/): options or true to turn it on, false to keep it off;
   * default: from the environment (on unless VIREO_JIT=0, see `jitOptionsFromEnv`).
   */
  readonly jit?: boolean | JitOptions;
}

/** Optional x87 / SIMD units plugged into the core (see coprocessor.ts). */
export interface CoprocessorUnits {
  /** Executes D8-DF; `op` carries the decoded ModRM operand. */
  x87?: (opcode: number, op: ModRmOperand) => void;
  /** FWAIT when an x87 unit exists (pending-exception check). */
  x87Wait?: () => void;
  /** Executes a 0F-map SIMD opcode; returns false if the opcode is not one of its own. */
  simd?: (opcode: number, op: ModRmOperand) => boolean;
  /** FNINIT-like power-on reset of the units. */
  reset?: () => void;
  /** Whether `0F opcode` with this mandatory prefix belongs to the SIMD unit (checked before ModRM decode). */
  owns?: (opcode: number, mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3) => boolean;
  /** Snapshot of the units' state (opaque to the core). */
  saveState?: () => unknown;
  /** Validates then applies a snapshot from `saveState`; throws on malformed input. */
  loadState?: (data: unknown) => void;
}

/** Builds the x87 / SIMD units of fpu/ and simd/ for the enabled features. */
function builtInUnits(f: CpuFeatures, host: CoprocessorHostExt): CoprocessorUnits {
  if (!f.fpu) return {};
  const x87 = createX87State();
  const units: CoprocessorUnits = {
    x87: (opcode, op) => x87Execute(x87, host, opcode, op),
    x87Wait: () => x87Wait(x87, host),
    reset: () => x87Init(x87),
    saveState: () => ({ v: 1, x87: saveX87State(x87) }),
    loadState: (data) => {
      const o = data as { v?: unknown; x87?: unknown } | null;
      if (typeof o !== 'object' || o === null || o.v !== 1) throw new Error('coprocessor snapshot: bad version');
      loadX87State(x87, o.x87);
    },
  };
  if (f.mmx || f.sse || f.sse2) {
    const simd = createSimdState(x87);
    units.simd = (opcode, op) => { simdExecute(simd, host, opcode, op); return true; };
    units.owns = simdOwns;
    units.reset = () => { x87Init(x87); resetSimdState(simd); };
    units.saveState = () => ({ v: 1, x87: saveX87State(x87), sse: saveSimdState(simd) });
    units.loadState = (data) => {
      const o = data as { v?: unknown; x87?: unknown; sse?: unknown } | null;
      if (typeof o !== 'object' || o === null || o.v !== 1) throw new Error('coprocessor snapshot: bad version');
      loadX87State(x87, o.x87);
      loadSimdState(simd, o.sse);
    };
  }
  return units;
}

/** `service()` result: run exactly one instruction before servicing again (interrupt shadow). */
const SERVICE_SINGLE_STEP = -2;

/** Contributory exceptions (SDM Vol. 3A Table 6-4). */
function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}

/** The interpreter CPU. */
export class InterpCpu extends CachedExecutor implements CpuBackend {
  readonly kind = 'interp' as const;
  instructionsRetired = 0;
  lastError: string | undefined;
  readonly features: CpuFeatures;
  /** Bridge object handed to the x87/SIMD units. */
  readonly coprocessorHost: CoprocessorBridge;
  /** Plugged-in units (set with `attachCoprocessor`). */
  private units: CoprocessorUnits = {};
  private readonly interrupts: InterruptSource;
  private nmiPending = false;
  private nmiBlocked = false;
  private stopRequested = false;
  private readonly operand: MutableOperand = { modrm: 0, linear: -1, opsize: false, mandatoryPrefix: 0 };
  readonly onFerr: (() => void) | undefined;

  constructor(opts: InterpCpuOptions) {
    super({ mem: opts.mem, physMap: opts.physMap, ops: opts.ops });
    this.interrupts = opts.interrupts;
    this.logger = opts.log;
    this.features = { ...DEFAULT_FEATURES, apic: opts.apic !== undefined, ...opts.features };
    this.apicMsr = opts.apic;
    this.pse36 = this.features.pse36;
    this.apicId = opts.apicId ?? 0;
    this.tscSource = opts.tsc;
    this.onFerr = opts.onFerr;
    this.coprocessorHost = new CoprocessorBridge(this);
    this.units = builtInUnits(this.features, this.coprocessorHost);
    const jit = opts.jit ?? jitOptionsFromEnv();
    if (jit !== false) this.setJit(jit === true ? {} : jit);
    this.reset();
  }

  /**
   * Replaces the x87 / SIMD units (the built-in ones from fpu/ and simd/ are attached
   * according to `features`). Keep `features` consistent so CPUID advertises them.
   */
  attachCoprocessor(units: CoprocessorUnits): void {
    this.units = units;
  }

  // ------------------------------------------------------------------ CpuBackend

  reset(): void {
    this.r32.fill(0);
    this.r32[EDX] = (this.features.family << 8) | (this.features.model << 4) | this.features.stepping;
    this.eip = 0xfff0;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0; this.segBase[s] = 0; this.segLimit[s] = 0xffff; this.segAttr[s] = 0x93;
    }
    this.segSel[CS] = 0xf000; this.segBase[CS] = 0xffff0000 | 0; this.segAttr[CS] = 0x9b;
    this.segSel[LDTR] = 0; this.segBase[LDTR] = 0; this.segLimit[LDTR] = 0xffff; this.segAttr[LDTR] = 0x82;
    this.segSel[TR] = 0; this.segBase[TR] = 0; this.segLimit[TR] = 0xffff; this.segAttr[TR] = 0x8b;
    this.gdtBase = 0; this.gdtLimit = 0xffff; this.idtBase = 0; this.idtLimit = 0xffff;
    this.cr0 = CR0_CD | CR0_NW | CR0_ET; this.cr2 = 0; this.cr3 = 0; this.cr4 = 0; this.efer = 0;
    this.dr.fill(0); this.dr[6] = 0xffff0ff0 | 0; this.dr[7] = 0x400;
    this.flags = 2; this.flagsDirty = 0;
    this.pe = false; this.vm86 = false; this.cs32 = false;
    this.updateStackSize();
    this.setCpl(0);
    this.halted = false; this.irqInhibit = false; this.nmiPending = false; this.nmiBlocked = false;
    this.sysenterCs = 0; this.sysenterEsp = 0; this.sysenterEip = 0;
    this.msrLo.clear(); this.msrHi.clear();
    this.instructionsRetired = 0;
    this.tscOffset = 0;
    this.alignCheck = false;
    this.refreshSegChecks();
    this.watchHit = 0;
    this.updateDebugState();
    this.flushTlb(false);
    this.checkPhysGeneration();
    this.flushDecodeCache();
    this.attention = true;
    this.units.reset?.();
  }

  run(maxInstructions: number): CpuExit {
    this.attention = true;
    // Delivered exceptions also consume budget, so a guest that faults in a loop (e.g. an
    // exception handler whose first fetch faults again) cannot keep run() from returning.
    let target = this.instructionsRetired + Math.max(0, Math.floor(maxInstructions));
    try {
      for (;;) {
        let singleStep = false;
        if (this.attention) {
          const exit = this.service();
          if (exit >= 0) return exit as CpuExit;
          singleStep = exit === SERVICE_SINGLE_STEP;
        }
        if (this.instructionsRetired >= target) return CpuExit.Yield;
        try {
          if (singleStep || (this.flags & TF) || this.debugActive) {
            // One instruction on the slow path: after an interrupt shadow, single-stepping
            // with EFLAGS.TF (a #DB trap follows the instruction, SDM Vol. 3B §17.3.1.4), or
            // with breakpoints enabled in DR7 (debug-registers.ts).
            const tf = (this.flags & TF) !== 0;
            const debug = this.debugActive;
            if (debug) this.beforeStepDebug();
            this.step();
            this.instructionsRetired++;
            if (tf || debug) {
              this.attention = true;
              this.afterStepDebug(tf);
              continue;
            }
          }
          this.burst(target);
        } catch (e) {
          if (e !== this.faultSignal) throw e;
          target--;
          if (this.handleFault()) return CpuExit.Reset;
        }
      }
    } catch (e) {
      this.lastError = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
      return CpuExit.Error;
    }
  }

  /**
   * One instruction on the fetch-and-decode path, for what the decode cache does not run
   * (see exec-cached.ts). This is `step()` written out by hand with the first opcode byte
   * dispatched through one dense switch (a jump table) straight to the handler methods:
   * one call per instruction for the frequent opcodes instead of step -> exec -> handler,
   * and no compare chain for the prefix bytes. The cases must do exactly what the `exec`
   * cases do; prefixed instructions and everything else go through `decodeFrom` / `exec`.
   */
  protected legacyStep(): void {
    const r32 = this.r32, u8 = this.u8, segBase = this.segBase;
    {
      const eip = this.eip;
      this.instrStart = eip;
      this.espStart = r32[ESP];
      this.irqInhibit = false;
      this.ssShadow = false;
      const def32 = this.cs32;
      this.opsize32 = def32;
      this.addrsize32 = def32;
      this.segOverride = -1;
      this.repPrefix = 0;
      this.lastPrefix = 0;
      this.lock = false;
      // fetch8(), inline.
      const lin = (segBase[CS] + eip) | 0;
      this.eip = (eip + 1) | 0;
      const b = (lin >>> 12) === this.fetchPage ? u8[this.fetchDelta + (lin & 0xfff)] : this.fetchLin8(lin);
      switch (b) {
          case 0x00:
            this.aluEbGb(0); break;
          case 0x01:
            if (def32) this.aluEdGd(0); else this.aluEwGw(0); break;
          case 0x02:
            this.aluGbEb(0); break;
          case 0x03:
            if (def32) this.aluGdEd(0); else this.aluGwEw(0); break;
          case 0x04:
            this.aluAlIb(0); break;
          case 0x05:
            this.aluEaxIv(0); break;
          case 0x08:
            this.aluEbGb(1); break;
          case 0x09:
            if (def32) this.aluEdGd(1); else this.aluEwGw(1); break;
          case 0x0a:
            this.aluGbEb(1); break;
          case 0x0b:
            if (def32) this.aluGdEd(1); else this.aluGwEw(1); break;
          case 0x0c:
            this.aluAlIb(1); break;
          case 0x0d:
            this.aluEaxIv(1); break;
          case 0x0f: {
            // The frequent two-byte opcodes, dispatched here too (same calls as exec0FOp's cases).
            const b2 = this.fetch8();
            switch (b2) {
            case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
            case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f:
              this.jccNear(b2 & 15); break;
            case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
            case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
              this.setcc(b2 & 15); break;
            case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
            case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
              this.cmov(b2 & 15); break;
            case 0xaf:
              this.imulGvEv(); break;
            case 0xb6:
              this.movzxB(); break;
            case 0xb7:
              this.movzxW(); break;
            case 0xbe:
              this.movsxB(); break;
            case 0xbf:
              this.movsxW(); break;
            default: this.exec0FOp(b2); break;
            }
            break;
          }
          case 0x10:
            this.aluEbGb(2); break;
          case 0x11:
            if (def32) this.aluEdGd(2); else this.aluEwGw(2); break;
          case 0x12:
            this.aluGbEb(2); break;
          case 0x13:
            if (def32) this.aluGdEd(2); else this.aluGwEw(2); break;
          case 0x14:
            this.aluAlIb(2); break;
          case 0x15:
            this.aluEaxIv(2); break;
          case 0x18:
            this.aluEbGb(3); break;
          case 0x19:
            if (def32) this.aluEdGd(3); else this.aluEwGw(3); break;
          case 0x1a:
            this.aluGbEb(3); break;
          case 0x1b:
            if (def32) this.aluGdEd(3); else this.aluGwEw(3); break;
          case 0x1c:
            this.aluAlIb(3); break;
          case 0x1d:
            this.aluEaxIv(3); break;
          case 0x20:
            this.aluEbGb(4); break;
          case 0x21:
            if (def32) this.aluEdGd(4); else this.aluEwGw(4); break;
          case 0x22:
            this.aluGbEb(4); break;
          case 0x23:
            if (def32) this.aluGdEd(4); else this.aluGwEw(4); break;
          case 0x24:
            this.aluAlIb(4); break;
          case 0x25:
            this.aluEaxIv(4); break;
          case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67: case 0xf0:
          case 0xf2: case 0xf3:
            this.decodeFrom(b); break;
          case 0x28:
            this.aluEbGb(5); break;
          case 0x29:
            if (def32) this.aluEdGd(5); else this.aluEwGw(5); break;
          case 0x2a:
            this.aluGbEb(5); break;
          case 0x2b:
            if (def32) this.aluGdEd(5); else this.aluGwEw(5); break;
          case 0x2c:
            this.aluAlIb(5); break;
          case 0x2d:
            this.aluEaxIv(5); break;
          case 0x30:
            this.aluEbGb(6); break;
          case 0x31:
            if (def32) this.aluEdGd(6); else this.aluEwGw(6); break;
          case 0x32:
            this.aluGbEb(6); break;
          case 0x33:
            if (def32) this.aluGdEd(6); else this.aluGwEw(6); break;
          case 0x34:
            this.aluAlIb(6); break;
          case 0x35:
            this.aluEaxIv(6); break;
          case 0x38:
            this.aluEbGb(7); break;
          case 0x39:
            if (def32) this.aluEdGd(7); else this.aluEwGw(7); break;
          case 0x3a:
            this.aluGbEb(7); break;
          case 0x3b:
            if (def32) this.aluGdEd(7); else this.aluGwEw(7); break;
          case 0x3c:
            this.aluAlIb(7); break;
          case 0x3d:
            this.aluEaxIv(7); break;
          case 0x40:
            this.incReg(0); break;
          case 0x41:
            this.incReg(1); break;
          case 0x42:
            this.incReg(2); break;
          case 0x43:
            this.incReg(3); break;
          case 0x44:
            this.incReg(4); break;
          case 0x45:
            this.incReg(5); break;
          case 0x46:
            this.incReg(6); break;
          case 0x47:
            this.incReg(7); break;
          case 0x48:
            this.decReg(0); break;
          case 0x49:
            this.decReg(1); break;
          case 0x4a:
            this.decReg(2); break;
          case 0x4b:
            this.decReg(3); break;
          case 0x4c:
            this.decReg(4); break;
          case 0x4d:
            this.decReg(5); break;
          case 0x4e:
            this.decReg(6); break;
          case 0x4f:
            this.decReg(7); break;
          case 0x50:
            this.pushReg(0); break;
          case 0x51:
            this.pushReg(1); break;
          case 0x52:
            this.pushReg(2); break;
          case 0x53:
            this.pushReg(3); break;
          case 0x54:
            this.pushReg(4); break;
          case 0x55:
            this.pushReg(5); break;
          case 0x56:
            this.pushReg(6); break;
          case 0x57:
            this.pushReg(7); break;
          case 0x58:
            this.popReg(0); break;
          case 0x59:
            this.popReg(1); break;
          case 0x5a:
            this.popReg(2); break;
          case 0x5b:
            this.popReg(3); break;
          case 0x5c:
            this.popReg(4); break;
          case 0x5d:
            this.popReg(5); break;
          case 0x5e:
            this.popReg(6); break;
          case 0x5f:
            this.popReg(7); break;
          case 0x69:
            this.imulImm(0x69); break;
          case 0x6b:
            this.imulImm(0x6b); break;
          case 0x70:
            this.jccShort(0); break;
          case 0x71:
            this.jccShort(1); break;
          case 0x72:
            this.jccShort(2); break;
          case 0x73:
            this.jccShort(3); break;
          case 0x74:
            this.jccShort(4); break;
          case 0x75:
            this.jccShort(5); break;
          case 0x76:
            this.jccShort(6); break;
          case 0x77:
            this.jccShort(7); break;
          case 0x78:
            this.jccShort(8); break;
          case 0x79:
            this.jccShort(9); break;
          case 0x7a:
            this.jccShort(10); break;
          case 0x7b:
            this.jccShort(11); break;
          case 0x7c:
            this.jccShort(12); break;
          case 0x7d:
            this.jccShort(13); break;
          case 0x7e:
            this.jccShort(14); break;
          case 0x7f:
            this.jccShort(15); break;
          case 0x80: case 0x82:
            this.group1Eb(); break;
          case 0x81:
            if (def32) this.group1Ed(0x81); else this.group1Ew(0x81); break;
          case 0x83:
            if (def32) this.group1Ed(0x83); else this.group1Ew(0x83); break;
          case 0x84:
            this.testEbGb(); break;
          case 0x85:
            this.testEvGv(); break;
          case 0x88:
            this.movEbGb(); break;
          case 0x89:
            this.movEvGv(); break;
          case 0x8a:
            this.movGbEb(); break;
          case 0x8b:
            this.movGvEv(); break;
          case 0x8d:
            this.lea(); break;
          case 0xb8:
            this.movRegImm(0); break;
          case 0xb9:
            this.movRegImm(1); break;
          case 0xba:
            this.movRegImm(2); break;
          case 0xbb:
            this.movRegImm(3); break;
          case 0xbc:
            this.movRegImm(4); break;
          case 0xbd:
            this.movRegImm(5); break;
          case 0xbe:
            this.movRegImm(6); break;
          case 0xbf:
            this.movRegImm(7); break;
          case 0xc0:
            this.shiftEbIb(); break;
          case 0xc1:
            this.shiftEvIb(); break;
          case 0xc2:
            this.retNearImm(); break;
          case 0xc3:
            this.retNear(); break;
          case 0xc6:
            this.movEbIb(); break;
          case 0xc7:
            this.movEvIv(); break;
          case 0xc9:
            this.leave(); break;
          case 0xd0:
            this.shiftGroup2(0xd0); break;
          case 0xd1:
            this.shiftGroup2(0xd1); break;
          case 0xd2:
            this.shiftGroup2(0xd2); break;
          case 0xd3:
            this.shiftGroup2(0xd3); break;
          case 0xe8:
            this.callNear(); break;
          case 0xe9:
            this.jmpNear(); break;
          case 0xeb:
            this.jmpShort(); break;
          case 0xf6:
            this.group3(8); break;
          case 0xf7:
            this.group3(def32 ? 32 : 16); break;
          case 0xfe:
            this.incDecEb(); break;
          case 0xff:
            this.group5(); break;
          default: this.exec(b); break;
      }
    }
  }

  /**
   * Before an instruction while breakpoints are enabled: EFLAGS.RF suppresses (and is
   * cleared by) this instruction's breakpoint check; an enabled instruction breakpoint at
   * CS:EIP is a #DB fault with B0-B3 set (SDM Vol. 3B 17.3.1.1). Data breakpoint hits of
   * the previous instruction are dropped unless a MOV SS shadow carried them over.
   */
  private beforeStepDebug(): void {
    if (!this.debugCarry) this.watchHit = 0;
    this.debugCarry = false;
    if (this.flags & RF) { this.flags &= ~RF; return; }
    const hits = instructionHits(this.dr, (this.segBase[CS] + this.eip) | 0);
    if (hits !== 0) {
      this.dr[6] = (this.dr[6] & ~0xf) | hits;
      this.instrStart = this.eip;
      this.espStart = this.r32[ESP];
      this.raise(EXC_DB);
    }
  }

  /**
   * After an instruction stepped with TF or breakpoints: one #DB trap for the data
   * breakpoints it hit (B0-B3) and/or the single step (BS), held back for one instruction
   * after MOV SS / POP SS (SDM Vol. 3B 17.3.1.2, 17.3.1.4).
   */
  private afterStepDebug(tf: boolean): void {
    const hits = this.watchHit;
    if (this.ssShadow) { this.debugCarry = hits !== 0; return; }
    this.watchHit = 0;
    const bs = tf && (this.flags & TF) !== 0 && !this.halted;
    if (hits === 0 && !bs) return;
    if (hits !== 0) this.dr[6] = (this.dr[6] & ~0xf) | hits;
    if (bs) this.dr[6] |= DR6_BS;
    this.instrStart = this.eip;
    this.espStart = this.r32[ESP];
    this.deliverInterrupt(EXC_DB, false, -1);
  }
  private debugCarry = false;

  kick(): void {
    this.stopRequested = true;
    this.attention = true;
  }

  /**
   * Tells the CPU the INTR line may have changed (e.g. from a timer callback). Unlike
   * `kick()` it does not end `run()`: the CPU polls `InterruptSource` before the next
   * instruction. (Port and MMIO accesses made by the guest already imply this.)
   */
  pollInterrupts(): void {
    this.attention = true;
  }

  nmi(): void {
    this.nmiPending = true;
    this.attention = true;
  }

  setA20(enabled: boolean): void {
    if (this.a20 === enabled) return;
    this.a20 = enabled;
    this.flushTlb(false);
  }

  /** Named, versioned snapshot of the CPU (and its x87/SIMD units). Take it between `run` calls. */
  saveState(): InterpCpuSnapshot {
    const segs = [];
    for (let i = 0; i < 8; i++) {
      segs.push({ sel: this.segSel[i], base: this.segBase[i] >>> 0, limit: this.segLimit[i] >>> 0, attr: this.segAttr[i] });
    }
    const msrs: Array<[number, number, number]> = [];
    for (const [k, lo] of this.msrLo) msrs.push([k >>> 0, lo >>> 0, (this.msrHi.get(k) ?? 0) >>> 0]);
    const snap: InterpCpuSnapshot = {
      v: 1, gpr: Array.from(this.r32, (x) => x >>> 0), eip: this.eip >>> 0, eflags: this.getFlags() >>> 0, segs,
      gdt: { base: this.gdtBase >>> 0, limit: this.gdtLimit }, idt: { base: this.idtBase >>> 0, limit: this.idtLimit },
      cr0: this.cr0 >>> 0, cr2: this.cr2 >>> 0, cr3: this.cr3 >>> 0, cr4: this.cr4 >>> 0, efer: this.efer >>> 0,
      dr: Array.from(this.dr, (x) => x >>> 0), cpl: this.cpl, a20: this.a20, halted: this.halted,
      irqInhibit: this.irqInhibit, nmiPending: this.nmiPending, nmiBlocked: this.nmiBlocked,
      tsc: this.instructionsRetired + this.tscOffset,
      sysenter: { cs: this.sysenterCs, esp: this.sysenterEsp >>> 0, eip: this.sysenterEip >>> 0 }, msrs,
    };
    if (this.units.saveState) snap.coprocessor = this.units.saveState();
    return snap;
  }

  /** Restores `saveState` output. `data` is untrusted: it is fully validated first; throws on bad input. */
  loadState(data: unknown): void {
    const s = parseCpuSnapshot(data);
    if (this.units.loadState && s.coprocessor !== undefined) this.units.loadState(s.coprocessor);
    for (let i = 0; i < 8; i++) this.r32[i] = s.gpr[i];
    this.eip = s.eip | 0;
    for (let i = 0; i < 8; i++) {
      const g = s.segs[i];
      this.segSel[i] = g.sel; this.segBase[i] = g.base | 0; this.segLimit[i] = g.limit | 0; this.segAttr[i] = g.attr;
    }
    this.gdtBase = s.gdt.base | 0; this.gdtLimit = s.gdt.limit; this.idtBase = s.idt.base | 0; this.idtLimit = s.idt.limit;
    this.cr0 = s.cr0 | 0; this.cr2 = s.cr2 | 0; this.cr3 = s.cr3 | 0; this.cr4 = s.cr4 | 0; this.efer = s.efer | 0;
    for (let i = 0; i < 8; i++) this.dr[i] = s.dr[i] | 0;
    this.flags = (s.eflags | 2) & ~0xffc08028; this.flagsDirty = 0;
    this.pe = (this.cr0 & 1) !== 0;
    this.vm86 = this.pe && (this.flags & VM) !== 0;
    this.cs32 = (this.segAttr[CS] & 0x4000) !== 0;
    this.updateStackSize();
    this.setCpl(s.cpl);
    this.a20 = s.a20; this.halted = s.halted; this.irqInhibit = s.irqInhibit;
    this.nmiPending = s.nmiPending; this.nmiBlocked = s.nmiBlocked;
    this.tscOffset = s.tsc - this.instructionsRetired;
    this.sysenterCs = s.sysenter.cs; this.sysenterEsp = s.sysenter.esp | 0; this.sysenterEip = s.sysenter.eip | 0;
    this.msrLo.clear(); this.msrHi.clear();
    for (const [k, lo, hi] of s.msrs) { this.msrLo.set(k | 0, lo | 0); this.msrHi.set(k | 0, hi | 0); }
    this.refreshSegChecks();
    this.updateAlignCheck();
    this.updateDebugState();
    this.flushTlb(false);
    this.flushDecodeCache();
    this.attention = true;
  }

  getRegs(): CpuRegs {
    const r = this.r32;
    return {
      eax: r[0] >>> 0, ecx: r[1] >>> 0, edx: r[2] >>> 0, ebx: r[3] >>> 0, esp: r[4] >>> 0, ebp: r[5] >>> 0,
      esi: r[6] >>> 0, edi: r[7] >>> 0, eip: this.eip >>> 0, eflags: this.getFlags() >>> 0,
      cs: this.segSel[CS], ds: this.segSel[DS], es: this.segSel[ES], fs: this.segSel[FS], gs: this.segSel[GS],
      ss: this.segSel[SS], cr0: this.cr0 >>> 0, cr2: this.cr2 >>> 0, cr3: this.cr3 >>> 0, cr4: this.cr4 >>> 0,
    };
  }

  /**
   * Sets registers. Segment selectors are loaded as in real mode (base = selector * 16)
   * unless CR0.PE is set, in which case they are loaded through the GDT/LDT.
   */
  setRegs(r: Partial<CpuRegs>): void {
    const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
    for (let i = 0; i < 8; i++) { const v = r[names[i]]; if (v !== undefined) this.r32[i] = v; }
    if (r.eip !== undefined) this.eip = r.eip | 0;
    if (r.eflags !== undefined) { this.flags = (r.eflags | 2) & ~0xffc08028; this.flagsDirty = 0; this.vm86 = (r.eflags & VM) !== 0 && this.pe; }
    if (r.cr0 !== undefined) this.writeCr0(r.cr0);
    if (r.cr2 !== undefined) this.cr2 = r.cr2 | 0;
    if (r.cr3 !== undefined) { this.cr3 = r.cr3 | 0; this.flushTlb(false); }
    if (r.cr4 !== undefined) this.writeCr4(r.cr4);
    const segs = [['es', ES], ['cs', CS], ['ss', SS], ['ds', DS], ['fs', FS], ['gs', GS]] as const;
    for (const [name, idx] of segs) {
      const v = r[name];
      if (v === undefined) continue;
      if (!this.pe || this.vm86) this.loadSegReal(idx, v);
      else if (this.readDescriptor(v)) {
        this.loadCache(idx, v, this.descLo, this.descHi);
        if (idx === CS) this.setCpl(v & 3);
      }
    }
    this.refreshSegChecks();
    this.updateAlignCheck();
    this.attention = true;
  }

  // ------------------------------------------------------------------ interrupts and faults

  /** Looks at kick / NMI / INTR / HLT; returns an exit code or -1 to keep running. */
  private service(): number {
    this.attention = false;
    this.checkPhysGeneration();
    if (this.stopRequested) {
      this.stopRequested = false;
      return CpuExit.Yield;
    }
    if (this.irqInhibit) {
      // The instruction after MOV SS / STI runs before any interrupt: execute exactly one,
      // then come back here (SERVICE_SINGLE_STEP).
      this.irqInhibit = false;
      this.attention = true;
      return SERVICE_SINGLE_STEP;
    }
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      if (this.deliverExternal(EXC_NMI)) return CpuExit.Reset;
    } else if ((this.flags & IF) && this.interrupts.hasInterrupt()) {
      const vector = this.interrupts.acknowledge() & 0xff;
      if (this.deliverExternal(vector)) return CpuExit.Reset;
    }
    if (this.halted) return CpuExit.Halt;
    return -1;
  }

  /** Delivers an external interrupt or NMI; true on triple fault. */
  private deliverExternal(vector: number): boolean {
    this.halted = false;
    this.instrStart = this.eip;
    this.espStart = this.r32[ESP];
    try {
      this.extInt = 1;
      this.deliverInterrupt(vector, false, -1);
      this.extInt = 0;
      return false;
    } catch (e) {
      if (e !== this.faultSignal) throw e;
      return this.handleFault();
    }
  }

  /** Unwinds a faulting instruction and delivers the exception; true on triple fault. */
  private handleFault(): boolean {
    let vector = this.faultSignal.vector;
    let code = this.faultSignal.errorCode;
    this.eip = this.instrStart;
    this.r32[ESP] = this.espStart;
    this.halted = false;
    for (let depth = 0; ; depth++) {
      try {
        this.deliverInterrupt(vector, false, code);
        this.extInt = 0;
        return false;
      } catch (e) {
        if (e !== this.faultSignal) throw e;
        const second = this.faultSignal.vector;
        if (vector === EXC_DF || depth > 3) {
          this.extInt = 0;
          this.logger?.warn(`cpu: triple fault (exception ${second} while delivering #DF) at ${this.segSel[CS].toString(16)}:${(this.eip >>> 0).toString(16)}`);
          return true;
        }
        this.extInt = 1;
        if ((contributory(vector) && contributory(second)) || (vector === EXC_PF && (second === EXC_PF || contributory(second)))) {
          vector = EXC_DF; code = 0;
        } else {
          vector = second; code = this.faultSignal.errorCode;
        }
      }
    }
  }

  protected override onIret(): void {
    this.nmiBlocked = false;
    this.attention = true;
  }

  // ------------------------------------------------------------------ coprocessor dispatch

  private fillOperand(): ModRmOperand {
    const o = this.operand;
    o.modrm = this.modrm;
    o.linear = this.mod === 3 ? -1 : this.ea >>> 0;
    o.opsize = this.lastPrefix === 0x66 || this.opsize32 !== this.cs32;
    o.mandatoryPrefix = this.lastPrefix as 0 | 0x66 | 0xf2 | 0xf3;
    return o;
  }

  execFpu(op: number): void {
    const x87 = this.units.x87;
    if (x87 === undefined) return; // No coprocessor: ESC instructions do nothing (FNSTSW leaves AX).
    x87(op, this.fillOperand());
  }

  execWait(): void {
    if ((this.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) this.raise(EXC_NM);
    this.units.x87Wait?.();
  }

  execSimd(op: number): boolean {
    const simd = this.units.simd;
    if (simd === undefined) return false;
    if (this.units.owns !== undefined && !this.units.owns(op, this.lastPrefix as 0 | 0x66 | 0xf2 | 0xf3)) return false;
    if (op === 0x77) {
      // EMMS has no ModRM byte.
      this.modrm = 0xc0; this.mod = 3; this.reg = 0; this.rm = 0;
    } else {
      this.decodeModrm();
    }
    return simd(op, this.fillOperand());
  }

  /** Linear address of DS:[E]DI with the segment override (MASKMOVQ/MASKMOVDQU). */
  maskMoveAddress(): number {
    const off = this.addrsize32 ? this.r32[EDI] : this.r16[EDI * 2];
    return this.segAddr(DS, off) >>> 0;
  }

  /** Replaces EFLAGS wholesale (used by the coprocessor bridge; only status flags change there). */
  setEflagsFromUnit(v: number): void {
    this.getFlags();
    this.flags = (this.flags & ~ARITH_FLAGS) | (v & ARITH_FLAGS);
    this.flagsDirty = 0;
  }
}

interface MutableOperand {
  modrm: number;
  linear: number;
  opsize: boolean;
  mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3;
}

/**
 * The `CoprocessorHost` the integer core gives to the x87/SIMD units (plus the extension
 * members the units need: EFLAGS, operand size, FCS/FDS, MASKMOV address). One per CPU.
 */
export class CoprocessorBridge implements CoprocessorHost, CoprocessorHostExt {
  constructor(private readonly cpu: InterpCpu) {}
  readU8(linear: number): number { this.check(linear, 1, false); return this.cpu.readU8(linear | 0); }
  readU16(linear: number): number { this.check(linear, 2, false); return this.cpu.readU16(linear | 0); }
  readU32(linear: number): number { this.check(linear, 4, false); return this.cpu.readU32(linear | 0) >>> 0; }
  writeU8(linear: number, value: number): void { this.check(linear, 1, true); this.cpu.writeU8(linear | 0, value); }
  writeU16(linear: number, value: number): void { this.check(linear, 2, true); this.cpu.writeU16(linear | 0, value); }
  writeU32(linear: number, value: number): void { this.check(linear, 4, true); this.cpu.writeU32(linear | 0, value | 0); }
  /**
   * Segment limit and type checks (segment-checks.ts) of a unit's access to its ModRM
   * memory operand: the offset is the operand's plus the distance from its linear address.
   * Alignment (#AC) is not checked for x87/SSE operands (their rules differ, SDM Table 6-7).
   */
  private check(linear: number, size: number, write: boolean): void {
    const cpu = this.cpu;
    if (cpu.mod === 3 || ((cpu.segChkMask >> cpu.eaSeg) & 1) === 0) return;
    cpu.checkSegAccess(cpu.eaSeg, (cpu.eaOff + ((linear | 0) - cpu.ea)) | 0, size, write);
  }
  fault(vector: number, errorCode?: number): never { return this.cpu.raise(vector, errorCode ?? -1); }
  getReg32(index: number): number { return this.cpu.r32[index & 7] >>> 0; }
  setReg32(index: number, value: number): void { this.cpu.r32[index & 7] = value; }
  fetchU8(): number { return this.cpu.fetch8(); }
  get cr0(): number { return this.cpu.cr0 >>> 0; }
  get cr4(): number { return this.cpu.cr4 >>> 0; }
  get instructionPointer(): number { return (this.cpu.segBase[CS] + this.cpu.instrStart) >>> 0; }
  signalFerr(): void { this.cpu.onFerr?.(); }
  getEflags(): number { return this.cpu.getFlags() >>> 0; }
  setEflags(value: number): void { this.cpu.setEflagsFromUnit(value); }
  get operandSize32(): boolean { return this.cpu.opsize32; }
  get codeSelector(): number { return this.cpu.segSel[CS]; }
  get dataSelector(): number { return this.cpu.mod === 3 ? 0 : this.cpu.segSel[this.cpu.eaSeg]; }
  maskMoveAddress(): number { return this.cpu.maskMoveAddress(); }
}

/** For tests: vectors with architectural names. */
export const VECTOR_NAMES: Readonly<Record<number, string>> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS', 11: '#NP',
  12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM',
};
