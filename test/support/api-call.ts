/**
 * Calls one host API method over a fresh WebSocket to a running browser-shell server, as a
 * second client would (for end-to-end tests that check what the UI did).
 */
import WebSocket from 'ws';
import { ResultMessage } from '../../protocol/index.js';
import type { ServerProcess } from './start-server.js';

/** Sends `method(params)` and resolves with the validated answer. */
export async function apiCall(server: ServerProcess, method: string, params: unknown): Promise<ResultMessage> {
  const ws = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/api?token=${server.token}`, { headers: { Origin: server.origin } });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  try {
    const answer = new Promise<ResultMessage>((resolve) => {
      ws.on('message', (data) => {
        const parsed = ResultMessage.safeParse(JSON.parse(String(data)));
        if (parsed.success && parsed.data.id === 1) resolve(parsed.data);
      });
    });
    ws.send(JSON.stringify({ kind: 'call', id: 1, method, params }));
    return await answer;
  } finally {
    ws.close();
  }
}

/** `apiCall` that returns the result, or throws with the error's code and message. */
export async function apiResult<T>(server: ServerProcess, method: string, params: unknown): Promise<T> {
  const r = await apiCall(server, method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result as T;
}
