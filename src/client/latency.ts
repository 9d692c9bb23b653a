// Latency samples and their summary (percentiles by nearest rank).

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export class LatencySamples {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  /** The summary in milliseconds, or undefined without samples. */
  summary(): LatencySummary | undefined {
    const n = this.values.length;
    if (n === 0) return undefined;
    const sorted = Float64Array.from(this.values).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: n, min: sorted[0]!, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1]! };
  }
}
