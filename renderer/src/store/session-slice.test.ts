import { describe, expect, it } from 'vitest';
import { ApiError, type VmEntry, type VmStats } from '../../../protocol/index.js';
import type { RendererHostClient } from '../host-client/index.js';
import { sparklinePoints } from '../components/Sparkline.js';
import { actionsFor } from './session-slice.js';
import { createAppStore } from './store.js';

const entry = (state: VmEntry['state'], stateReason?: string): VmEntry => ({
  config: {
    version: 1, id: 'aaaaaaaa', name: 'one', os: { id: 'x', name: 'X' }, firmware: 'bios', cpus: 1, memoryMiB: 64, drives: [],
    bootOrder: ['disk'], network: { mode: 'user', model: 'e1000' }, backend: 'auto', createdAt: 'now',
  },
  state,
  ...(stateReason ? { stateReason } : {}),
});

/** A client whose `call` is scripted per method; nothing else is used here. */
function client(handlers: Record<string, (params: unknown) => unknown>): RendererHostClient {
  return {
    shell: 'server',
    async call(method: string, params: unknown) {
      const h = handlers[method];
      if (!h) throw new ApiError('unsupported', `${method}: not scripted`);
      return h(params);
    },
    on: () => () => undefined,
    connection: () => 'open',
    onConnection: () => () => undefined,
    close: () => undefined,
    openSerial: () => { throw new Error('not scripted'); },
  } as unknown as RendererHostClient;
}

describe('session slice', () => {
  it('enables the actions that fit each state', () => {
    expect([...actionsFor('stopped')]).toEqual(['start']);
    expect([...actionsFor('crashed')]).toEqual(['start']);
    expect([...actionsFor('running')].sort()).toEqual(['forceOff', 'pause', 'reset', 'stop']);
    expect([...actionsFor('paused')].sort()).toEqual(['forceOff', 'reset', 'resume', 'stop']);
    expect([...actionsFor('starting')]).toEqual(['forceOff']);
  });

  it('runs an action through the client and mirrors the answer', async () => {
    const calls: string[] = [];
    const store = createAppStore(client({ 'vm.start': (p) => { calls.push(JSON.stringify(p)); return entry('running'); } }));
    store.getState().applyVmChanged(entry('stopped'));
    const running = store.getState().runVmAction('aaaaaaaa', 'start');
    expect(store.getState().pendingAction).toEqual({ aaaaaaaa: 'start' });
    await running;
    expect(calls).toEqual(['{"id":"aaaaaaaa"}']);
    expect(store.getState().vms[0]?.state).toBe('running');
    expect(store.getState().pendingAction).toEqual({});
  });

  it('turns a failed action into an error notice naming the VM', async () => {
    const store = createAppStore(client({ 'vm.pause': () => { throw new ApiError('conflict', 'VM "one" is stopped; cannot pause it'); } }));
    store.getState().applyVmChanged(entry('running'));
    await store.getState().runVmAction('aaaaaaaa', 'pause');
    expect(store.getState().notices.map((n) => [n.tone, n.text])).toEqual([
      ['error', 'Pause “one” failed: VM "one" is stopped; cannot pause it'],
    ]);
  });

  it('keeps the latest stats per VM', () => {
    const store = createAppStore(client({}));
    const stats: VmStats = { id: 'aaaaaaaa', instructionsPerSec: 5, samples: [{ atMs: 1, instructionsPerSec: 5, cpuPercent: 50 }] };
    store.getState().applyStats(stats);
    expect(store.getState().stats['aaaaaaaa']).toEqual(stats);
  });
});

describe('sparklinePoints', () => {
  it('plots CPU% on a fixed 0-100 scale, or instructions/s scaled to the largest sample', () => {
    const cpu: VmStats = { id: 'a', instructionsPerSec: 0, samples: [
      { atMs: 1, instructionsPerSec: 1, cpuPercent: 0 }, { atMs: 2, instructionsPerSec: 1, cpuPercent: 100 },
    ] };
    expect(sparklinePoints(cpu, 10, 12)).toBe('0.0,11.0 10.0,1.0');
    const ips: VmStats = { id: 'a', instructionsPerSec: 0, samples: [
      { atMs: 1, instructionsPerSec: 50 }, { atMs: 2, instructionsPerSec: 100 }, { atMs: 3, instructionsPerSec: 0 },
    ] };
    expect(sparklinePoints(ips, 10, 12)).toBe('0.0,6.0 5.0,1.0 10.0,11.0');
    expect(sparklinePoints({ id: 'a', instructionsPerSec: 0, samples: [] })).toBe('');
  });
});
