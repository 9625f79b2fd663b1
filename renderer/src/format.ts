/** Display formatting helpers. */

/** "2 GiB", "512 MiB", "1.5 GiB". */
export function formatMiB(mib: number): string {
  if (mib >= 1024) {
    const gib = mib / 1024;
    return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
  }
  return `${mib} MiB`;
}

/** Bytes as GiB with one decimal. */
export function formatBytesGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** Run state as shown to the user. */
export function formatState(state: string): string {
  return state.charAt(0).toUpperCase() + state.slice(1);
}

/** An ISO timestamp as a local date and time; the raw text if it does not parse. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
