import { describe, expect, it } from 'vitest';
import { NullNetBackend } from './null-backend.js';

describe('NullNetBackend', () => {
  it('counts dropped frames and closes', async () => {
    const b = new NullNetBackend();
    let got = 0;
    b.onReceive(() => { got++; });
    b.send(new Uint8Array(60));
    expect(b.framesDropped).toBe(1);
    expect(got).toBe(0);
    await b.close();
  });
});
