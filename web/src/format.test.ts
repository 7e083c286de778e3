import { describe, expect, it } from 'vitest';
import { formatAgo, formatCompact, formatCount, formatLatency, formatPercent, formatRate } from './format';

// Node's default locale in CI is en-US; the page uses the browser's.
describe('format', () => {
  it.each([
    [formatCount(1234567), '1,234,567'],
    [formatCount(undefined), '0'],
    [formatCompact(9999), '9,999'],
    [formatCompact(1_250_000), '1.3M'],
    [formatRate(0), '0'],
    [formatRate(2.345), '2.35'],
    [formatRate(37.45), '37.5'],
    [formatRate(12345), '12,345'],
    [formatPercent(2.134), '2.13 %'],
    [formatPercent(45.67), '45.7 %'],
    [formatLatency(0.5), '0.5 ms'],
    [formatLatency(12.54), '12.5 ms'],
    [formatLatency(2500), '2.5 s'],
    [formatLatency(90_000), '1.5 min'],
    [formatAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:42Z')), '42 s ago'],
    [formatAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T02:10:00Z')), '2 h ago'],
    [formatAgo(null), '—'],
  ])('%s = %s', (got, want) => expect(got).toBe(want));
});
