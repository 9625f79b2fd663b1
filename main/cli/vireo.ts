/**
 * The `vireo` command line: `vireo run` (boot a machine headless), `vireo disk create`.
 * Runs on the same services and emulator API as the app.
 */
import { runCommand } from './run-command.js';
import { diskCommand } from './disk-command.js';

const USAGE = `usage: vireo <command> [options]
commands:
  run           boot a machine headless (see vireo run --help)
  disk create   create a disk image (see vireo disk --help)
  --version     print the version`;

/** Entry point; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run': return runCommand(rest);
    case 'disk': return diskCommand(rest);
    case '--version': console.log('vireo 0.1.0'); return 0;
    case undefined: case '--help': case '-h': case 'help': console.log(USAGE); return cmd === undefined ? 1 : 0;
    default:
      console.error(`vireo: unknown command "${cmd}"\n${USAGE}`);
      return 1;
  }
}
