#!/usr/bin/env node
// Measures what handing a KVM I/O exit to the device model costs in the two designs the KVM
// issue names (docs/architecture.md, "The KVM backend"):
//  - on the vCPU's own thread (Vireo's choice): a function call into the device model;
//  - on another thread: a synchronous cross-thread call through a SharedArrayBuffer and
//    Atomics.notify/Atomics.wait, one round trip per exit.
// Usage: node scripts/measure-exit-dispatch.mjs [round trips, default 200000]
import { Worker } from 'node:worker_threads';

const N = Number(process.argv[2] ?? 200_000);

// 1. A direct call through an object with the VmOps shape (what KvmCpu.handleIo does).
const ports = new Uint8Array(65536);
const ops = { pioRead: (port) => ports[port], pioWrite: (port, _size, value) => { ports[port] = value; } };
let sink = 0;
let t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) { ops.pioWrite(0x80, 1, i & 0xff); sink += ops.pioRead(0x80, 1); }
const directNs = Number(process.hrtime.bigint() - t0) / N;

// 2. Cross-thread: the "vCPU" posts the exit in shared memory and waits; the "device thread" answers.
const sab = new SharedArrayBuffer(16);
const ctl = new Int32Array(sab);
const worker = new Worker(`
  const { workerData } = require('node:worker_threads');
  const ctl = new Int32Array(workerData);
  for (;;) {
    Atomics.wait(ctl, 0, 0);
    if (Atomics.load(ctl, 0) === 2) break;
    ctl[1] = ctl[2] + 1;               // the device's answer
    Atomics.store(ctl, 0, 0);
    Atomics.notify(ctl, 0);
  }
`, { eval: true, workerData: sab });
await new Promise((r) => setTimeout(r, 100));
t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  ctl[2] = i;
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  while (Atomics.wait(ctl, 0, 1) === 'ok' && Atomics.load(ctl, 0) === 1) { /* woken early */ }
  sink += ctl[1];
}
const crossNs = Number(process.hrtime.bigint() - t0) / N;
Atomics.store(ctl, 0, 2);
Atomics.notify(ctl, 0);
await worker.terminate();
console.log(`exit dispatch, ${N} round trips: on the vCPU thread ${(directNs / 1000).toFixed(3)} µs, ` +
  `to another thread and back ${(crossNs / 1000).toFixed(2)} µs (checksum ${sink & 0xff})`);
