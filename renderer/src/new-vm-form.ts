/**
 * The "New VM" form as pure logic: field values in, a draft or field-level messages out.
 * The same schema the host uses (VmConfigDraft) has the last word, so the messages the
 * user sees match what the host would say.
 */
import { VmConfigDraft } from '../../protocol/index.js';
import { presetById } from './os-presets.js';

/** Raw values of the form's inputs. */
export interface NewVmFields {
  name: string;
  osId: string;
  memoryMiB: string;
  cpus: string;
}

/** A message per invalid field. */
export type NewVmErrors = Partial<Record<keyof NewVmFields, string>>;

/** Outcome of {@link validateNewVm}. */
export type NewVmValidation = { ok: true; draft: VmConfigDraft } | { ok: false; errors: NewVmErrors };

/** Maps a schema path's first segment to the form field showing its message. */
const FIELD_OF: Record<string, keyof NewVmFields> = { name: 'name', os: 'osId', memoryMiB: 'memoryMiB', cpus: 'cpus' };

function wholeNumber(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : null;
}

/** Validates the form; `nameTaken` tells whether a name is used by another VM. */
export function validateNewVm(fields: NewVmFields, nameTaken: (name: string) => boolean): NewVmValidation {
  const errors: NewVmErrors = {};
  const name = fields.name.trim();
  if (name === '') errors.name = 'Enter a name for the VM.';
  else if (nameTaken(name)) errors.name = `A VM named "${name}" already exists; choose another name.`;
  const memoryMiB = wholeNumber(fields.memoryMiB);
  if (memoryMiB === null) errors.memoryMiB = 'Memory must be a whole number of MiB (for example 2048).';
  const cpus = wholeNumber(fields.cpus);
  if (cpus === null) errors.cpus = 'CPUs must be a whole number (for example 2).';
  const preset = presetById(fields.osId);
  const draft: VmConfigDraft = {
    name,
    os: { id: preset.id, name: preset.name },
    firmware: preset.firmware,
    memoryMiB: memoryMiB ?? 0,
    cpus: cpus ?? 0,
  };
  const parsed = VmConfigDraft.safeParse(draft);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = FIELD_OF[String(issue.path[0] ?? '')];
      if (field && errors[field] === undefined) errors[field] = sentence(issue.message);
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, draft };
}

/** "cpus must be at least 1" -> "CPUs must be at least 1." (field names as the form shows them). */
function sentence(message: string): string {
  const text = message
    .replace(/^memoryMiB\b/, 'Memory (MiB)')
    .replace(/^cpus\b/, 'CPUs')
    .replace(/^name\b/, 'Name');
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
