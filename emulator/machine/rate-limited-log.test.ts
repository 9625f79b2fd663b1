import { describe, expect, it } from 'vitest';
import { rateLimitedLog } from './rate-limited-log.js';

describe('rateLimitedLog', () => {
  it('passes a burst of each message shape, then summarises', () => {
    const out: string[] = [];
    const log = rateLimitedLog((m) => out.push(m), 2, 10);
    for (let i = 0; i < 25; i++) log(`unmapped port 0x${(0x100 + i).toString(16)}`);
    log('a different complaint');
    expect(out).toEqual([
      'unmapped port 0x100', 'unmapped port 0x101',
      'unmapped port 0x109 (repeated 10 times)', 'unmapped port 0x113 (repeated 20 times)',
      'a different complaint',
    ]);
  });
});
