/**
 * `vireo disk create PATH --size SIZE [--format qcow2|raw]` and `vireo disk info PATH`:
 * disk images as `qemu-img create` / `qemu-img info` would make and describe them.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDisk, openDisk } from '../../emulator/index.js';

const USAGE = `usage: vireo disk create PATH --size SIZE [--format qcow2|raw]
       vireo disk info PATH
  SIZE is bytes or a number with K, M, G or T (binary units), e.g. 20G.
  qcow2 (the default) grows as the guest writes; raw is a sparse file.`;

/** Runs `vireo disk ...`; resolves with the exit status. */
export async function diskCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'create') return await create(rest);
    if (sub === 'info') return await info(rest);
    if (sub === '--help' || sub === '-h') { console.log(USAGE); return 0; }
    console.error(`vireo disk: expected "create" or "info"\n${USAGE}`);
    return 1;
  } catch (err) {
    console.error(`vireo disk ${sub}: ${(err as Error).message}`);
    return 1;
  }
}

async function create(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, strict: true, allowPositionals: true,
    options: { size: { type: 'string' }, format: { type: 'string' } },
  });
  const [path, extra] = positionals;
  if (!path || extra !== undefined) throw new Error(`expected exactly one PATH\n${USAGE}`);
  if (values.size === undefined) throw new Error('--size is required (e.g. --size 20G)');
  const format = values.format ?? 'qcow2';
  if (format !== 'qcow2' && format !== 'raw') throw new Error(`--format: expected qcow2 or raw, got "${format}"`);
  if (existsSync(path)) throw new Error(`${path} already exists; Vireo never overwrites a disk image`);
  await createDisk(path, values.size, format);
  console.log(`Created ${format} image ${path} (${values.size})`);
  return 0;
}

async function info(argv: string[]): Promise<number> {
  const [path, extra] = argv;
  if (!path || extra !== undefined) throw new Error(`expected exactly one PATH\n${USAGE}`);
  const disk = await openDisk(path, { readOnly: true });
  try {
    console.log(`image: ${path}\nformat: ${disk.format}\nvirtual size: ${disk.sizeBytes} bytes`);
  } finally {
    await disk.close();
  }
  return 0;
}
