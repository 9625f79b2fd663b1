/** Command-line flags of the browser shell (`npm run serve`). */
import { resolveDataDir } from '../host/data-dir.js';

/** One-line usage text. */
export const USAGE = 'usage: vireo-serve [--port N (0 = any free port, default 8470)] [--host ADDR (default 127.0.0.1)] [--data-dir DIR]';

/** Parsed command line of the server. */
export interface ServeArgs {
  port: number;
  host: string;
  dataDir: string;
}

/** Parses the server flags; throws an Error naming the flag on bad input. */
export function parseServeArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ServeArgs {
  let port = 8470;
  let host = '127.0.0.1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag}: expected a value`);
      return v;
    };
    switch (flag) {
      case '--port': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--port: expected 0-65535, got "${v}"`);
        port = n;
        break;
      }
      case '--host': host = value(); break;
      case '--data-dir': value(); break; // read by resolveDataDir
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`${arg}: unknown flag\n${USAGE}`);
    }
  }
  return { port, host, dataDir: resolveDataDir({ argv, env }) };
}

