/** A tiny CPU usage chart for the VM list, drawn from `vm.stats` samples. */
import type { VmStats } from '../../../protocol/index.js';

const WIDTH = 60;
const HEIGHT = 16;

/** "1.2 M instr/s" style rate. */
export function formatRate(perSec: number): string {
  if (perSec >= 1e9) return `${(perSec / 1e9).toFixed(1)} G instr/s`;
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)} M instr/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k instr/s`;
  return `${Math.round(perSec)} instr/s`;
}

/**
 * The samples as a polyline: host CPU% of the worker when the host measures it (0-100),
 * otherwise instructions/s scaled to the largest sample.
 */
export function sparklinePoints(stats: VmStats, width = WIDTH, height = HEIGHT): string {
  const samples = stats.samples;
  if (samples.length === 0) return '';
  const useCpu = samples.every((s) => s.cpuPercent !== undefined);
  const values = samples.map((s) => (useCpu ? s.cpuPercent ?? 0 : s.instructionsPerSec));
  const max = useCpu ? 100 : Math.max(...values, 1);
  const step = samples.length > 1 ? width / (samples.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`)
    .join(' ');
}

/** The chart; labelled with the latest CPU% and instruction rate. */
export function Sparkline({ stats }: { stats: VmStats }) {
  const last = stats.samples.at(-1);
  const label = last
    ? `CPU ${last.cpuPercent !== undefined ? `${Math.round(last.cpuPercent)}%, ` : ''}${formatRate(last.instructionsPerSec)}`
    : 'CPU: no samples yet';
  return (
    <svg className="sparkline" role="img" aria-label={label} width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`}>
      <title>{label}</title>
      <polyline points={sparklinePoints(stats)} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
