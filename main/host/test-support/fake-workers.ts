/**
 * Stand-in emulator workers for host tests that are not about the emulator (serial byte
 * paths, crash handling): tiny worker_threads scripts that speak protocol/worker.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The built machine worker (`npm run build:node`). */
export const BUILT_WORKER_URL = new URL('../../../dist/emulator/worker/machine-worker.js', import.meta.url);

/** Why tests that need the built worker cannot run, or null. */
export function builtWorkerMissing(): string | null {
  return existsSync(fileURLToPath(BUILT_WORKER_URL)) ? null : `${fileURLToPath(BUILT_WORKER_URL)} is missing: run \`npm run build:node\` first`;
}

/**
 * A worker that answers `start` with `state: running`, echoes serial input back as serial
 * output prefixed with "echo:", and stops on `stop`.
 */
const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
const send = (m) => parentPort.postMessage(m);
parentPort.on('message', (m) => {
  switch (m.type) {
    case 'start': send({ type: 'state', state: 'running' }); send({ type: 'serial-out', data: new TextEncoder().encode('boot\\r\\n') }); break;
    case 'serial-in': send({ type: 'serial-out', data: new Uint8Array([...new TextEncoder().encode('echo:'), ...m.data]) }); break;
    case 'pause': send({ type: 'state', state: 'paused' }); break;
    case 'resume': send({ type: 'state', state: 'running' }); break;
    case 'stop': send({ type: 'state', state: 'stopped' }); send({ type: 'stopped', reason: { kind: 'requested', detail: 'stop' } }); parentPort.close(); break;
    case 'screen-text': send({ type: 'screen-text', requestId: m.requestId, text: 'fake screen' }); break;
  }
});
`;

/** Creates the echo worker (see above); the URL argument is ignored. */
export function createEchoWorker(): Worker {
  return new Worker(ECHO_WORKER, { eval: true });
}

/** A worker that throws while loading (a host-side bug in the emulator). */
export function createThrowingWorker(): Worker {
  return new Worker('throw new Error("boom while loading the emulator")', { eval: true });
}
