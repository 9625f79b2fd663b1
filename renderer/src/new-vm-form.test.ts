import { describe, expect, it } from 'vitest';
import { validateNewVm, type NewVmFields } from './new-vm-form.js';

const fields = (over: Partial<NewVmFields> = {}): NewVmFields => ({ name: 'vm', osId: 'debian13', memoryMiB: '2048', cpus: '2', ...over });
const never = (): boolean => false;

describe('validateNewVm', () => {
  it('builds a draft from a preset', () => {
    expect(validateNewVm(fields({ name: '  Win  ', osId: 'win11' }), never)).toEqual({
      ok: true,
      draft: { name: 'Win', os: { id: 'win11', name: 'Windows 11' }, firmware: 'uefi', memoryMiB: 2048, cpus: 2 },
    });
  });
  it('names each invalid field', () => {
    const r = validateNewVm(fields({ name: ' ', memoryMiB: '1.5', cpus: '' }), never);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name).toBe('Enter a name for the VM.');
    expect(r.errors.memoryMiB).toMatch(/^Memory must be a whole number/);
    expect(r.errors.cpus).toMatch(/^CPUs must be a whole number/);
  });
  it('uses the schema messages for out-of-range values', () => {
    const r = validateNewVm(fields({ memoryMiB: '8', cpus: '65' }), never);
    expect(r).toEqual({ ok: false, errors: { memoryMiB: 'Memory (MiB) must be at least 16.', cpus: 'CPUs must be at most 64.' } });
    const long = validateNewVm(fields({ name: 'x'.repeat(101) }), never);
    expect(long).toEqual({ ok: false, errors: { name: 'Name must be at most 100 characters.' } });
  });
  it('refuses a name that is taken', () => {
    const r = validateNewVm(fields({ name: 'Debian' }), (n) => n.toLowerCase() === 'debian');
    expect(r).toEqual({ ok: false, errors: { name: 'A VM named "Debian" already exists; choose another name.' } });
  });
});
