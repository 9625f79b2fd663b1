/** Public entry of protocol/: the contracts spoken between renderer, main and emulator. */
export * from './vm-config.js';
export * from './api.js';
export * from './worker.js';
