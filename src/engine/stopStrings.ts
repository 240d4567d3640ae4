/**
 * Holds back the tail of the text that could still become a stop string, so that a
 * stop string is never shown and then taken back.
 */
export class StopMatcher {
  private pending = '';
  constructor(private readonly stops: string[]) {}

  /** Returns the text safe to emit now, and whether a stop string was completed. */
  push(text: string): { emit: string; stopped: boolean } {
    this.pending += text;
    const hits = this.stops.map((s) => this.pending.indexOf(s)).filter((at) => at >= 0);
    if (hits.length > 0) {
      const emit = this.pending.slice(0, Math.min(...hits));
      this.pending = '';
      return { emit, stopped: true };
    }
    let hold = 0;
    for (const s of this.stops)
      for (let len = Math.min(s.length - 1, this.pending.length); len > hold; len--)
        if (this.pending.endsWith(s.slice(0, len))) {
          hold = len;
          break;
        }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
