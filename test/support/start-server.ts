/**
 * Starts the built browser shell (`node dist/main/server/cli.js`) as a child process on a
 * free port and reads its URL from stdout. Requires `npm run build` beforehand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** A running server child process. */
export interface ServerProcess {
  /** The URL printed at start, token included. */
  url: string;
  /** The origin (http://127.0.0.1:PORT). */
  origin: string;
  /** The access token. */
  token: string;
  /** The child process. */
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Path of the built server entry. */
export const SERVER_CLI = path.resolve('dist/main/server/cli.js');

/**
 * Starts the server with `--port 0 --data-dir dataDir`; rejects with its stderr if it does
 * not print its URL. `env` adds environment variables (e.g. `VIREO_TEST_HOOKS: '1'`).
 */
export function startServerProcess(
  dataDir: string, extraArgs: string[] = [], timeoutMs = 20_000, env: Record<string, string> = {},
): Promise<ServerProcess> {
  if (!existsSync(SERVER_CLI)) {
    return Promise.reject(new Error(`${SERVER_CLI} is missing: run \`npm run build\` before the end-to-end tests`));
  }
  const child = spawn(process.execPath, [SERVER_CLI, '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VIREO_DATA_DIR: undefined, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the server did not print its URL within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    const earlyExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`the server exited with code ${code} before printing its URL; stderr:\n${stderr}`));
    };
    child.once('exit', earlyExit);
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const m = /Vireo is running at (http:\/\/[^\s/]+)\/\?token=([A-Za-z0-9_-]+)/.exec(stdout);
      if (m && m[1] && m[2]) {
        clearTimeout(timer);
        child.off('exit', earlyExit);
        resolve({ url: `${m[1]}/?token=${m[2]}`, origin: m[1], token: m[2], child, stderr: () => stderr, stop });
      }
    });
  });
}
