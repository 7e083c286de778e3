// RateHistory keeps the last few minutes of per-tick rates for the live chart,
// in fixed-size arrays, so memory stays flat however long the wall screen runs.
import type { MetricsSnapshot } from './types';

export interface RatePoint {
  /** Seconds since epoch (client clock, so server clock skew cannot shift the chart). */
  t: number;
  /** summary.eventsPerSecond: the server's 60-second average. */
  avg: number | null;
  /** Events that arrived since the previous tick, per second (from totalEvents). */
  instant: number | null;
}

export class RateHistory {
  private readonly cap: number;
  private readonly buf: RatePoint[] = [];
  private start = 0; // index of the oldest point once the buffer is full
  private lastTotal: number | null = null;
  private lastT: number | null = null;
  private lastUpdated: string | null = null;

  /** windowSeconds: how much history to keep (zero value: 300). */
  constructor(readonly windowSeconds = 300) {
    this.cap = windowSeconds + 60;
  }

  private push(p: RatePoint) {
    if (this.buf.length < this.cap) this.buf.push(p);
    else {
      this.buf[this.start] = p;
      this.start = (this.start + 1) % this.cap;
    }
  }

  /** add records one snapshot; a repeated snapshot (same lastUpdated) is ignored. Returns whether it was added. */
  add(m: MetricsSnapshot, nowMs: number = Date.now()): boolean {
    if (m.summary.lastUpdated && m.summary.lastUpdated === this.lastUpdated) return false;
    const t = nowMs / 1000;
    // Time between ticks by the server's clock when it can be read: message
    // delivery jitters (a busy browser, a proxy), the server's ticks do not.
    const serverT = Date.parse(m.summary.lastUpdated) / 1000;
    const prevServerT = this.lastUpdated ? Date.parse(this.lastUpdated) / 1000 : NaN;
    this.lastUpdated = m.summary.lastUpdated;
    const total = m.summary.totalEvents;
    let instant: number | null = null;
    if (this.lastT !== null && this.lastTotal !== null) {
      const dt = serverT > prevServerT ? serverT - prevServerT : t - this.lastT;
      if (dt > 3 || t - this.lastT > 10) {
        // A gap (disconnected): break the line instead of drawing across it.
        this.push({ t: this.lastT + 1, avg: null, instant: null });
      } else if (total >= this.lastTotal && dt > 0.2) {
        instant = (total - this.lastTotal) / Math.max(dt, 1);
      }
    }
    this.lastT = t;
    this.lastTotal = total;
    const avg = m.summary.eventsPerSecond ?? m.throughput?.current?.perSecond ?? 0;
    this.push({ t, avg, instant });
    return true;
  }

  /** points returns the points, oldest first. */
  points(): RatePoint[] {
    return this.buf.length < this.cap ? this.buf.slice() : [...this.buf.slice(this.start), ...this.buf.slice(0, this.start)];
  }

  /** columns returns uPlot's data layout: [times, averages, instants]. */
  columns(): [number[], (number | null)[], (number | null)[]] {
    const pts = this.points();
    return [pts.map((p) => p.t), pts.map((p) => p.avg), pts.map((p) => p.instant)];
  }

  /** last returns the newest point, or null. */
  last(): RatePoint | null {
    if (this.buf.length === 0) return null;
    return this.buf.length < this.cap ? this.buf[this.buf.length - 1] : this.buf[(this.start + this.cap - 1) % this.cap];
  }

  get size(): number {
    return this.buf.length;
  }
}
