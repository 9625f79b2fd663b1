#!/usr/bin/env node
/**
 * Names the addresses of a guest profile (`vireo run --profile FILE`) and prints where
 * the guest spends its instructions, most first.
 *
 *   node scripts/guest-profile.mjs PROFILE [SYMBOLS] [--top N]
 *
 * SYMBOLS is a kallsyms or System.map file ("address type name" per line); for a Linux
 * guest, `cat /proc/kallsyms` inside it as root (boot it with `nokaslr`, so the addresses
 * match run after run). Without it, or for addresses below every symbol, samples are
 * grouped by 4 KiB page ("page cs:xxxxx000").
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 40;
const [profilePath, symbolsPath] = args;
if (!profilePath || !Number.isInteger(top) || top <= 0) {
  process.stderr.write('usage: node scripts/guest-profile.mjs PROFILE [SYMBOLS] [--top N]\n');
  process.exit(2);
}

const samples = [];
for (const line of readFileSync(profilePath, 'utf8').split('\n')) {
  const m = /^(\d+) ([0-9a-f]{4}):([0-9a-f]{8})$/.exec(line.trim());
  if (m) samples.push({ n: Number(m[1]), cs: m[2], eip: parseInt(m[3], 16) });
  else if (line.trim() && !line.startsWith('#')) throw new Error(`${profilePath}: not a vireo guest profile line: "${line}"`);
}

/** Sorted [address, name] of the text symbols. */
const symbols = [];
if (symbolsPath) {
  for (const line of readFileSync(symbolsPath, 'utf8').split('\n')) {
    const m = /^([0-9a-fA-F]+) ([tTwW]) (\S+)/.exec(line);
    if (m) symbols.push([parseInt(m[1], 16), m[3]]);
  }
  symbols.sort((a, b) => a[0] - b[0]);
  if (symbols.length === 0) throw new Error(`${symbolsPath}: no text symbols (expected "address type name" lines)`);
}

function nameOf(s) {
  let lo = 0, hi = symbols.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid][0] <= s.eip) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // Past the last symbol by more than 1 MiB: not this symbol table's code.
  if (found >= 0 && s.eip - symbols[found][0] < 0x100000) return symbols[found][1];
  return `page ${s.cs}:${(s.eip & ~0xfff >>> 0).toString(16).padStart(8, '0')}`;
}

const byName = new Map();
let total = 0;
for (const s of samples) {
  const name = nameOf(s);
  byName.set(name, (byName.get(name) ?? 0) + s.n);
  total += s.n;
}
const rows = [...byName].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(`${total} samples\n`);
for (const [name, n] of rows) process.stdout.write(`${((n / total) * 100).toFixed(2).padStart(6)} %  ${String(n).padStart(8)}  ${name}\n`);
