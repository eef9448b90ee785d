/** Counts of anything keyed by a label (HTTP status, SQLSTATE, queue), printed as `409×12, 503×3` or `-`. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string | number, by = 1): void {
    const key = String(label);
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  get(label: string | number): number {
    return this.counts.get(String(label)) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.counts];
  }

  without(label: string | number): Tally {
    const rest = new Tally();
    for (const [key, count] of this.counts) if (key !== String(label)) rest.add(key, count);
    return rest;
  }

  toString(): string {
    const parts = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}×${n}`);
    return parts.length ? parts.join(', ') : '-';
  }
}
