import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockImage } from './image-lock.js';

describe('image locks', () => {
  it('refuses a second lock in one process and releases on close', () => {
    const img = path.join(mkdtempSync(path.join(os.tmpdir(), 'vireo-lock-')), 'd.img');
    writeFileSync(img, 'x');
    const release = lockImage(img);
    expect(existsSync(`${img}.lock`)).toBe(true);
    expect(() => lockImage(img)).toThrow(/attached twice/);
    release();
    expect(existsSync(`${img}.lock`)).toBe(false);
    lockImage(img)();
  });
  it('takes over a stale lock whose owner is gone, refuses a live owner', () => {
    const img = path.join(mkdtempSync(path.join(os.tmpdir(), 'vireo-lock-')), 'd.img');
    writeFileSync(img, 'x');
    writeFileSync(`${img}.lock`, '999999999\n'); // no such process
    const release = lockImage(img);
    release();
    writeFileSync(`${img}.lock`, `${process.ppid}\n`); // a live process that is not us
    expect(() => lockImage(img)).toThrow(new RegExp(`in use by another Vireo process \\(pid ${process.ppid}\\)`));
  });
});
