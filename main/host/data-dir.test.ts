import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDataDir } from './data-dir.js';

describe('resolveDataDir', () => {
  const home = '/home/ada';
  it('defaults to ~/.local/share/vireo', () => {
    expect(resolveDataDir({ argv: [], env: {}, homedir: home })).toBe('/home/ada/.local/share/vireo');
  });
  it('uses $XDG_DATA_HOME/vireo when it is absolute', () => {
    expect(resolveDataDir({ argv: [], env: { XDG_DATA_HOME: '/xdg' }, homedir: home })).toBe('/xdg/vireo');
    expect(resolveDataDir({ argv: [], env: { XDG_DATA_HOME: 'relative' }, homedir: home }))
      .toBe('/home/ada/.local/share/vireo');
  });
  it('prefers VIREO_DATA_DIR over XDG, and --data-dir over both', () => {
    const env = { XDG_DATA_HOME: '/xdg', VIREO_DATA_DIR: '/env-dir' };
    expect(resolveDataDir({ argv: [], env, homedir: home })).toBe('/env-dir');
    expect(resolveDataDir({ argv: ['--port', '0', '--data-dir', '/flag'], env, homedir: home })).toBe('/flag');
    expect(resolveDataDir({ argv: ['--data-dir=rel'], env, homedir: home })).toBe(path.resolve('rel'));
  });
  it('names the flag when its value is missing', () => {
    expect(() => resolveDataDir({ argv: ['--data-dir'], env: {}, homedir: home })).toThrow(/--data-dir/);
  });
});
