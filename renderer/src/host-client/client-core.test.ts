import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../protocol/index.js';
import { EventHub, parseResult } from './client-core.js';
import { PreloadHostClient } from './preload-client.js';
import { apiUrlFor } from './index.js';

describe('parseResult', () => {
  it('returns a valid result and maps an error result to ApiError', () => {
    expect(parseResult('vm.delete', { kind: 'result', id: 1, ok: true, result: { deletedFiles: [] } })).toEqual({ deletedFiles: [] });
    try {
      parseResult('vm.get', { kind: 'result', id: 1, ok: false, error: { code: 'not-found', message: 'id: no VM' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ code: 'not-found', message: 'id: no VM' });
    }
  });
  it('rejects a malformed message or a result that fails the method schema, naming the field', () => {
    expect(() => parseResult('vm.list', { kind: 'result', ok: true })).toThrow(/vm.list: the host sent a malformed answer \(id: /);
    expect(() => parseResult('vm.list', { kind: 'result', id: 1, ok: true, result: { vms: 'x', errors: [] } }))
      .toThrow(/vm.list: the host sent an invalid result \(vms: /);
  });
});

describe('EventHub', () => {
  it('delivers valid events and drops malformed, unknown or invalid ones', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const hub = new EventHub();
    const seen: unknown[] = [];
    const off = hub.on('vm.removed', (p) => seen.push(p));
    hub.dispatch({ kind: 'event', event: 'vm.removed', payload: { id: 'a' } });
    hub.dispatch({ kind: 'event', event: 'vm.removed', payload: { id: 7 } });
    hub.dispatch({ kind: 'event', event: 'vm.exploded', payload: {} });
    hub.dispatch('garbage');
    off();
    hub.dispatch({ kind: 'event', event: 'vm.removed', payload: { id: 'b' } });
    expect(seen).toEqual([{ id: 'a' }]);
    expect(warn).toHaveBeenCalledTimes(3);
    warn.mockRestore();
  });
});

describe('PreloadHostClient', () => {
  it('passes calls to the bridge and validates answers and events', async () => {
    let emit: (m: unknown) => void = () => undefined;
    const bridge = {
      call: vi.fn(async () => ({ kind: 'result', id: 1, ok: true, result: { path: null } })),
      onEvent: (l: (m: unknown) => void) => { emit = l; return () => undefined; },
      openSerial: async () => ({ ok: true }),
      openVnc: async () => ({ ok: true }),
    };
    const client = new PreloadHostClient(bridge);
    expect(await client.call('dialog.openFile', {})).toEqual({ path: null });
    expect(bridge.call).toHaveBeenCalledWith('dialog.openFile', {});
    const seen: unknown[] = [];
    client.on('vm.removed', (p) => seen.push(p));
    emit({ kind: 'event', event: 'vm.removed', payload: { id: 'x' } });
    expect(seen).toEqual([{ id: 'x' }]);
    expect(client.connection()).toBe('open');
  });
});

describe('apiUrlFor', () => {
  it('targets /api on the page origin and forwards the token', () => {
    expect(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:8470', search: '?token=a%2Bb/c' })).toBe('ws://127.0.0.1:8470/api?token=a%2Bb%2Fc');
    expect(apiUrlFor({ protocol: 'https:', host: 'h', search: '' })).toBe('wss://h/api');
  });
});
