import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'vireo/layering').map((m) => m.message);
}

describe('vireo/layering lint rule', () => {
  it('rejects renderer/ importing emulator/', async () => {
    const errs = await layeringErrors('renderer/src/x.ts', "import { x } from '../../emulator/machine/pc-machine.js';\nexport { x };\n");
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/renderer\/ may import protocol\/ only/);
  });
  it('rejects node:* in renderer/ and protocol/', async () => {
    expect(await layeringErrors('renderer/src/x.ts', "import fs from 'node:fs';\nexport { fs };\n")).toHaveLength(1);
    expect(await layeringErrors('protocol/x.ts', "import fs from 'node:fs';\nexport { fs };\n")).toHaveLength(1);
  });
  it('rejects node:* in emulator devices but allows it in emulator/host/', async () => {
    expect(await layeringErrors('emulator/devices/i8259/i8259.ts', "import fs from 'node:fs';\nexport { fs };\n")).toHaveLength(1);
    expect(await layeringErrors('emulator/host/file.ts', "import fs from 'node:fs';\nexport { fs };\n")).toHaveLength(0);
  });
  it('rejects main/ reaching into emulator internals, allows the public entry', async () => {
    expect(await layeringErrors('main/host/x.ts', "import { a } from '../../emulator/devices/vga/vga.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layeringErrors('main/host/x.ts', "import { a } from '../../emulator/index.js';\nexport { a };\n")).toHaveLength(0);
  });
  it('rejects protocol/ importing anything of ours and electron outside main/electron', async () => {
    expect(await layeringErrors('protocol/x.ts', "import { a } from '../main/host/api.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layeringErrors('main/host/x.ts', "import { app } from 'electron';\nexport { app };\n")).toHaveLength(1);
    expect(await layeringErrors('main/electron/x.ts', "import { app } from 'electron';\nexport { app };\n")).toHaveLength(0);
  });
  it('allows emulator/ to import protocol/', async () => {
    expect(await layeringErrors('emulator/machine/x.ts', "import { a } from '../../protocol/index.js';\nexport { a };\n")).toHaveLength(0);
  });
});
