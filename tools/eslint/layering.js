// @ts-check
/**
 * vireo/layering: enforces the import rules of docs/architecture.md.
 *
 *   protocol/  imports nothing of ours and no node:* module
 *   emulator/  imports protocol/ at most; node:* only under emulator/host/,
 *              emulator/worker/ and emulator/cpu/kvm/; never electron
 *   main/      imports protocol/ and the public entry of emulator/ (emulator/index.ts)
 *   renderer/  imports protocol/ only; no node:* and no electron
 *
 * Tests (*.test.ts) and test-support/ folders may reach into their own layer's internals
 * and into test fixtures, but still never across a forbidden boundary.
 */
import path from 'node:path';

const LAYERS = ['protocol', 'emulator', 'main', 'renderer', 'test', 'bench', 'tools', 'scripts'];
const NODE_BUILTINS = new Set([
  'fs', 'path', 'os', 'child_process', 'worker_threads', 'net', 'http', 'https', 'crypto',
  'url', 'util', 'stream', 'events', 'zlib', 'buffer', 'timers', 'readline', 'tty', 'dgram',
  'fs/promises', 'stream/promises', 'timers/promises', 'perf_hooks', 'module', 'process', 'assert',
]);

/** @param {string} rel repo-relative path with forward slashes */
function layerOf(rel) {
  const first = rel.split('/')[0] ?? '';
  return LAYERS.includes(first) ? first : null;
}

/** @param {string} spec */
function isNodeBuiltin(spec) {
  return spec.startsWith('node:') || NODE_BUILTINS.has(spec);
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the layer import rules of docs/architecture.md' },
    schema: [],
    messages: {
      bad: 'Bad layering: {{from}} may not import "{{spec}}" ({{why}}). See docs/architecture.md.',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    const from = layerOf(file);
    if (from === null) return {};
    const nodeAllowedInEmulator = /^emulator\/(host|worker|cpu\/kvm)\//.test(file)
      || /\.test\.tsx?$/.test(file) || /\/test-support\//.test(file);

    /** @param {import('estree').Node} node @param {string} spec */
    function check(node, spec) {
      /** @param {string} why */
      const report = (why) => context.report({ node, messageId: 'bad', data: { from, spec, why } });
      if (spec === 'electron' || spec.startsWith('electron/')) {
        if (!(from === 'main' && file.startsWith('main/electron/')) && from !== 'scripts') {
          report('only main/electron/ may use Electron');
        }
        return;
      }
      if (isNodeBuiltin(spec)) {
        if (from === 'protocol') report('protocol/ is pure and runs in every process');
        else if (from === 'renderer') report('renderer/ runs in a browser sandbox');
        else if (from === 'emulator' && !nodeAllowedInEmulator) {
          report('node:* is allowed only under emulator/host/, emulator/worker/ and emulator/cpu/kvm/');
        }
        return;
      }
      if (!spec.startsWith('.')) return; // a package from node_modules
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const to = layerOf(target);
      if (to === null || to === from) return;
      if (from === 'protocol') report('protocol/ imports nothing of ours');
      else if (from === 'emulator' && to !== 'protocol') report('emulator/ may import protocol/ only');
      else if (from === 'renderer' && to !== 'protocol') report('renderer/ may import protocol/ only; talk to the host through its client');
      else if (from === 'main') {
        if (to === 'emulator') {
          if (!/^emulator\/index(\.js|\.ts)?$/.test(target)) report('main/ may import only the public entry emulator/index.js');
        } else if (to !== 'protocol') report('main/ may import protocol/ and emulator/index.js only');
      }
    }

    return {
      ImportDeclaration(node) { check(node, String(node.source.value)); },
      ExportNamedDeclaration(node) { if (node.source) check(node, String(node.source.value)); },
      ExportAllDeclaration(node) { check(node, String(node.source.value)); },
      ImportExpression(node) {
        if (node.source.type === 'Literal' && typeof node.source.value === 'string') check(node, node.source.value);
      },
    };
  },
};

export default { rules: { layering: rule } };
