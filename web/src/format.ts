// Number formatting for people: thousands separators, units, few digits.

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const dec2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** formatCount: 1234567 → "1,234,567". */
export function formatCount(v: unknown): string {
  return intFmt.format(num(v));
}

/** formatCompact: 1234567 → "1.2M"; below 10,000 the full number. */
export function formatCompact(v: unknown): string {
  const n = num(v);
  return Math.abs(n) < 10000 ? intFmt.format(n) : compact.format(n);
}

/** formatRate: events per second, 2 digits below 10, 1 below 1000, none above. */
export function formatRate(v: unknown): string {
  const n = num(v);
  if (n === 0) return '0';
  if (n < 10) return dec2.format(n);
  if (n < 1000) return dec1.format(n);
  return intFmt.format(n);
}

/** formatPercent: 2.134 → "2.13 %"; the spec's rates are already 0–100. */
export function formatPercent(v: unknown): string {
  const n = num(v);
  return `${n < 10 ? dec2.format(n) : dec1.format(n)} %`;
}

/** formatLatency splits milliseconds into a value and a unit: 12.5 → ["12.5","ms"], 2500 → ["2.5","s"]. */
export function formatLatencyParts(ms: unknown): [string, string] {
  const n = num(ms);
  if (n >= 60_000) return [dec1.format(n / 60_000), 'min'];
  if (n >= 1000) return [dec2.format(n / 1000), 's'];
  if (n >= 10) return [dec1.format(n), 'ms'];
  return [dec2.format(n), 'ms'];
}

export function formatLatency(ms: unknown): string {
  const [v, u] = formatLatencyParts(ms);
  return `${v} ${u}`;
}

/** formatAgo: a past time as "12 s ago" / "3 min ago" / "2 h ago" / "4 d ago". */
export function formatAgo(iso: string | null | undefined, nowMs: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** formatClock: an ISO time as local HH:MM:SS. */
export function formatClock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  return new Date(t).toLocaleTimeString(undefined, { hour12: false });
}
