/** Percentiles for the benchmarks, nearest-rank, rounded to 0.1 ms. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[rank]!);
}

export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Progress for a person watching, on stderr; stdout's last line is the result. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
