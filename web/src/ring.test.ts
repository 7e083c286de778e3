import { describe, expect, it } from 'vitest';
import { RateHistory } from './ring';
import type { MetricsSnapshot } from './types';
import fixture from './fixtures/empty.json';

const snap = (total: number, eps: number, at: string): MetricsSnapshot => {
  const s = structuredClone(fixture) as MetricsSnapshot;
  s.summary.totalEvents = total;
  s.summary.eventsPerSecond = eps;
  s.summary.lastUpdated = at;
  return s;
};

describe('RateHistory', () => {
  it('derives the per-second rate from totalEvents and keeps the 60 s average', () => {
    const h = new RateHistory(300);
    h.add(snap(100, 1, '2026-01-01T00:00:00Z'), 1_000_000);
    h.add(snap(130, 1.5, '2026-01-01T00:00:01Z'), 1_001_000);
    expect(h.last()).toEqual({ t: 1001, avg: 1.5, instant: 30 });
  });

  it('measures time between ticks by the server clock when it can', () => {
    const h = new RateHistory(300);
    h.add(snap(100, 1, '2026-01-01T00:00:00Z'), 1_000_000);
    // Delivered 1.8 s later (a busy browser), built 1 s later.
    h.add(snap(130, 1, '2026-01-01T00:00:01Z'), 1_001_800);
    expect(h.last()?.instant).toBe(30);
    // A server-side gap of 5 s breaks the line even if messages arrive back to back.
    h.add(snap(200, 1, '2026-01-01T00:00:06Z'), 1_002_000);
    const [, avg] = h.columns();
    expect(avg[2]).toBeNull();
  });

  it('ignores a repeated snapshot', () => {
    const h = new RateHistory(300);
    expect(h.add(snap(1, 0, 'a'), 0)).toBe(true);
    expect(h.add(snap(1, 0, 'a'), 1000)).toBe(false);
    expect(h.size).toBe(1);
  });

  it('breaks the line across a gap and after a reset', () => {
    const h = new RateHistory(300);
    h.add(snap(10, 0, 'a'), 0);
    h.add(snap(20, 0, 'b'), 10_000);
    const [t, avg] = h.columns();
    expect(t).toEqual([0, 1, 10]);
    expect(avg[1]).toBeNull();
    h.add(snap(0, 0, 'c'), 11_000); // reset: total went down
    expect(h.last()?.instant).toBeNull();
  });

  it('is bounded and keeps order once full', () => {
    const h = new RateHistory(10); // capacity 70
    for (let i = 0; i < 200; i++) h.add(snap(i, i, new Date(i * 1000).toISOString()), i * 1000);
    expect(h.size).toBe(70);
    const [t] = h.columns();
    expect(t[0]).toBe(130);
    expect(t[69]).toBe(199);
    expect(h.last()?.avg).toBe(199);
  });
});
