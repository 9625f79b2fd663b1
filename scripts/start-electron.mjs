// @ts-check
/**
 * `npm start`: runs the desktop app with the Electron binary from node_modules/electron.
 *
 * The binary is downloaded by electron's own install script, which our install skips
 * (package.json allowScripts). If it is missing we try that script once (unless
 * ELECTRON_SKIP_BINARY_DOWNLOAD=1); if that fails we print one line explaining how to get
 * it and that `npm run serve` shows the same UI in a browser, and exit 1.
 *
 * VIREO_ELECTRON_PACKAGE_DIR overrides where the electron package is looked up (tests).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = process.env.VIREO_ELECTRON_PACKAGE_DIR
  ? path.resolve(process.env.VIREO_ELECTRON_PACKAGE_DIR)
  : path.join(root, 'node_modules', 'electron');
const mainJs = path.join(root, 'dist', 'main', 'electron', 'main.js');

/** Absolute path of the Electron executable, or null if it is not installed. */
function electronBinary() {
  try {
    const rel = readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim();
    const bin = path.join(electronDir, 'dist', rel);
    return rel !== '' && existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

/** Prints the one-line explanation and exits 1. */
function giveUp(/** @type {string} */ why) {
  console.error(`Vireo: the Electron binary is not installed (${why}); get it with \`node node_modules/electron/install.js\` on a machine with internet access, or run \`npm run serve\` for the same UI in a browser.`);
  process.exit(1);
}

let binary = electronBinary();
if (binary === null) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1') {
    giveUp('ELECTRON_SKIP_BINARY_DOWNLOAD=1 is set, so it was not downloaded');
  }
  const installer = path.join(electronDir, 'install.js');
  if (!existsSync(installer)) giveUp(`${installer} is missing; is the electron package installed?`);
  // Quiet: the installer's stack trace on a failed download is noise; we explain below.
  const result = spawnSync(process.execPath, [installer], { cwd: electronDir, stdio: 'ignore', timeout: 10 * 60_000 });
  binary = electronBinary();
  if (result.status !== 0 || binary === null) giveUp('the download failed, probably no internet access');
}

if (!existsSync(mainJs)) {
  console.error(`Vireo: ${path.relative(root, mainJs)} is missing; run \`npm run build\` first.`);
  process.exit(1);
}

// `electron <root>` loads package.json's "main" (dist/main/electron/main.js) with the app's name and version.
const child = spawn(/** @type {string} */ (binary), [root, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
