// Pure helpers of the Alerts view: the alert book (the list the page shows,
// fed by GET /api/v1/alerts and by /topic/alerts), the rule form's request
// and its field errors, and the metric names the form offers.
import type { Alert, AlertTransition, CreateRuleRequest } from './api';

// ---- the alert book --------------------------------------------------------

/** AlertBook is what the page knows of alerts, by id; gone holds pending alerts canceled before they fired. */
export interface AlertBook {
  readonly alerts: Readonly<Record<string, Alert>>;
  readonly gone: Readonly<Record<string, true>>;
}

export const emptyBook: AlertBook = { alerts: {}, gone: {} };

/** Resolved alerts kept for the "recently resolved" list, and canceled ids remembered. */
export const KEEP_RESOLVED = 20;
const KEEP_GONE = 200;

/**
 * rank orders an alert's states: an alert only moves forward (pending,
 * firing, acknowledged, resolved), so of two copies of one alert, from a
 * list answer and a live message, the higher rank is the newer.
 */
export function rank(a: Alert): number {
  if (a.status === 'RESOLVED') return 3;
  if (a.status === 'FIRING') return a.acknowledgedAt ? 2 : 1;
  return 0;
}

function bounded(alerts: Record<string, Alert>, gone: Record<string, true>): AlertBook {
  const resolved = Object.values(alerts).filter((a) => a.status === 'RESOLVED');
  if (resolved.length > KEEP_RESOLVED) {
    resolved.sort(byResolvedDesc);
    for (const a of resolved.slice(KEEP_RESOLVED)) delete alerts[a.id];
  }
  const ids = Object.keys(gone);
  if (ids.length > KEEP_GONE) for (const id of ids.slice(0, ids.length - KEEP_GONE)) delete gone[id];
  return { alerts, gone };
}

/**
 * mergeAlert returns book with one alert applied: from a live message
 * (transition set) or an API answer. A canceled alert leaves the book; an
 * older copy never replaces a newer one.
 */
export function mergeAlert(book: AlertBook, alert: Alert, transition?: AlertTransition): AlertBook {
  if (transition === 'ALERT_CANCELED') {
    const alerts = { ...book.alerts };
    delete alerts[alert.id];
    return bounded(alerts, { ...book.gone, [alert.id]: true });
  }
  if (book.gone[alert.id]) return book;
  const have = book.alerts[alert.id];
  if (have && rank(have) > rank(alert)) return book;
  return bounded({ ...book.alerts, [alert.id]: alert }, { ...book.gone });
}

/**
 * reconcile applies a fresh list answer (the open alerts and the recently
 * resolved ones) to book. An alert the book has as open that the answer no
 * longer lists is dropped (it ended while the page was not listening),
 * unless a live message about it arrived while the answer was on its way
 * (liveSince).
 */
export function reconcile(book: AlertBook, open: Alert[], resolved: Alert[], liveSince: ReadonlySet<string>): AlertBook {
  let next: AlertBook = { alerts: {}, gone: { ...book.gone } };
  for (const a of [...open, ...resolved]) next = mergeAlert(next, a);
  for (const a of Object.values(book.alerts)) {
    if (next.alerts[a.id] || a.status === 'RESOLVED' || liveSince.has(a.id)) next = mergeAlert(next, a);
  }
  return next;
}

const SEVERITY_ORDER: Record<string, number> = { CRITICAL: 0, WARNING: 1, INFO: 2 };
const time = (s: string | null | undefined) => (s ? Date.parse(s) || 0 : 0);
function byResolvedDesc(a: Alert, b: Alert) {
  return time(b.resolvedAt) - time(a.resolvedAt) || (a.id < b.id ? 1 : -1);
}

/** openAlerts: firing before pending, then the most severe, then the newest. */
export function openAlerts(book: AlertBook): Alert[] {
  return Object.values(book.alerts)
    .filter((a) => a.status !== 'RESOLVED')
    .sort(
      (a, b) =>
        (a.status === 'FIRING' ? 0 : 1) - (b.status === 'FIRING' ? 0 : 1) ||
        (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
        time(b.startsAt) - time(a.startsAt) ||
        (a.id < b.id ? -1 : 1),
    );
}

/** resolvedAlerts: the newest resolutions first. */
export function resolvedAlerts(book: AlertBook): Alert[] {
  return Object.values(book.alerts)
    .filter((a) => a.status === 'RESOLVED')
    .sort(byResolvedDesc);
}

/** alertState is the state a person reads: ACKNOWLEDGED is a firing alert someone took. */
export function alertState(a: Alert): 'PENDING' | 'FIRING' | 'ACKNOWLEDGED' | 'RESOLVED' {
  return a.status === 'FIRING' && a.acknowledgedAt ? 'ACKNOWLEDGED' : a.status;
}

// ---- the rule form -----------------------------------------------------------

export interface RuleForm {
  name: string;
  severity: string;
  metricType: string;
  condition: string;
  threshold: string;
  threshold2: string;
  windowMinutes: string;
  forDuration: string;
}
export type RuleFormField = keyof RuleForm;

export const emptyRuleForm: RuleForm = {
  name: '',
  severity: 'WARNING',
  metricType: 'ERROR_RATE',
  condition: 'GREATER_THAN',
  threshold: '',
  threshold2: '',
  windowMinutes: '5',
  forDuration: '',
};

export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;

export const CONDITIONS: ReadonlyArray<{ value: string; label: string }> = [
  { value: 'GREATER_THAN', label: '>' },
  { value: 'GREATER_THAN_OR_EQUAL', label: '≥' },
  { value: 'LESS_THAN', label: '<' },
  { value: 'LESS_THAN_OR_EQUAL', label: '≤' },
  { value: 'EQUALS', label: '=' },
  { value: 'NOT_EQUALS', label: '≠' },
  { value: 'BETWEEN', label: 'between' },
  { value: 'NOT_BETWEEN', label: 'not between' },
];

/** ranged: the conditions that take a second (upper) bound. */
export const ranged = (condition: string) => condition === 'BETWEEN' || condition === 'NOT_BETWEEN';

/**
 * METRIC_GROUPS are the metrics a simple threshold rule takes (rules/metric.go;
 * EVENT_RATIO and NO_EVENTS need keys this form does not have), with what
 * the window field means for them.
 */
export const METRIC_GROUPS: ReadonlyArray<{ label: string; window: string; metrics: readonly string[] }> = [
  { label: 'Errors over the window', window: 'the rule’s window', metrics: ['ERROR_RATE', 'TOTAL_ERRORS', 'SYSTEM_HEALTH'] },
  {
    label: 'Throughput over the window',
    window: 'the rule’s window',
    metrics: ['EVENTS_PER_SECOND', 'EVENTS_PER_MINUTE', 'EVENTS_PER_HOUR', 'EVENTS_PER_DAY', 'TOTAL_EVENTS'],
  },
  {
    label: 'Fixed windows (leave the window empty)',
    window: 'its own window: leave the window empty',
    metrics: [
      'EVENTS_LAST_1_MINUTE',
      'EVENTS_LAST_5_MINUTES',
      'EVENTS_LAST_15_MINUTES',
      'EVENTS_LAST_1_HOUR',
      'EVENTS_LAST_24_HOURS',
      'AVG_THROUGHPUT_1H',
      'AVG_THROUGHPUT_24H',
      'ACTIVE_USERS_LAST_1_HOUR',
      'ACTIVE_USERS_LAST_24_HOURS',
    ],
  },
  {
    label: 'Latency, ms (since reset; P95 also over 1, 5 or 15 min)',
    window: 'empty: since the last reset (P95_LATENCY: 1, 5 or 15)',
    metrics: ['AVG_LATENCY', 'P50_LATENCY', 'P95_LATENCY', 'P99_LATENCY', 'MAX_LATENCY', 'MIN_LATENCY'],
  },
  {
    label: 'Counts since reset (leave the window empty)',
    window: 'empty: since the last reset',
    metrics: ['UNIQUE_SOURCES', 'UNIQUE_EVENT_TYPES', 'UNIQUE_USERS', 'TOTAL_UNIQUE_USERS', 'PEAK_THROUGHPUT'],
  },
  {
    label: 'Change from the previous window, %',
    window: 'the rule’s window and the one before',
    metrics: ['ERROR_RATE_CHANGE', 'LATENCY_CHANGE', 'THROUGHPUT_CHANGE', 'SPIKE_DETECTION'],
  },
];

/** windowHint says what the window field means for a metric. */
export function windowHint(metric: string): string {
  return METRIC_GROUPS.find((g) => g.metrics.includes(metric))?.window ?? '';
}

/**
 * numberOrText is a number field as the API reads it: absent when blank,
 * a number when it is one, else the text as typed, so that the server's
 * field error ("… must be a valid number") is the one the user sees.
 */
export function numberOrText(s: string): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** ruleRequest is the body of POST /api/v1/rules (and of /rules/test) for a filled form. */
export function ruleRequest(f: RuleForm): CreateRuleRequest {
  const cfg: Record<string, unknown> = { metricType: f.metricType, condition: f.condition };
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== '') cfg[k] = v;
  };
  put('thresholdValue', numberOrText(f.threshold));
  if (ranged(f.condition)) put('thresholdValue2', numberOrText(f.threshold2));
  put('timeWindowMinutes', numberOrText(f.windowMinutes));
  put('for', f.forDuration.trim());
  return { name: f.name.trim(), ruleType: 'THRESHOLD', severity: f.severity, ruleConfig: cfg };
}

const FIELD_OF: Record<string, RuleFormField> = {
  name: 'name',
  severity: 'severity',
  'ruleConfig.metricType': 'metricType',
  'ruleConfig.condition': 'condition',
  'ruleConfig.thresholdValue': 'threshold',
  'ruleConfig.thresholdValue2': 'threshold2',
  'ruleConfig.timeWindowMinutes': 'windowMinutes',
  'ruleConfig.for': 'forDuration',
};

/**
 * formErrors sorts a 400's field errors ("ruleConfig.thresholdValue": …)
 * onto the form's fields; the rest (keys the form has no field for) are
 * listed as "key: message".
 */
export function formErrors(fields: Readonly<Record<string, string>>): {
  byField: Partial<Record<RuleFormField, string>>;
  other: string[];
} {
  const byField: Partial<Record<RuleFormField, string>> = {};
  const other: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const f = FIELD_OF[k];
    if (f) byField[f] = v;
    else other.push(`${k}: ${v}`);
  }
  return { byField, other };
}

// ---- rules, for people ------------------------------------------------------

const SYMBOL: Record<string, string> = Object.fromEntries(CONDITIONS.map((c) => [c.value, c.label]));

/**
 * describeConfig says what a rule watches in one line, e.g.
 * "ERROR_RATE > 5 over 1 min for 2s"; other kinds (ratio, composite,
 * absence) by their main keys.
 */
export function describeConfig(cfg: Readonly<Record<string, unknown>>): string {
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const parts: string[] = [];
  if (Array.isArray(cfg.conditions)) {
    const op = ` ${s(cfg.operator) || 'AND'} `;
    parts.push(
      cfg.conditions
        .map((c) => {
          const o = (c ?? {}) as Record<string, unknown>;
          return `${s(o.metricType)} ${SYMBOL[s(o.condition).toUpperCase()] ?? s(o.condition)} ${s(o.value)}`;
        })
        .join(op),
    );
  } else {
    const metric = s(cfg.metricType);
    parts.push(metric === 'EVENT_RATIO' ? `${s(cfg.numeratorEventType)} / ${s(cfg.denominatorEventType)}` : metric);
    const cond = s(cfg.condition).toUpperCase();
    if (cond) {
      parts.push(SYMBOL[cond] ?? cond);
      parts.push(ranged(cond) ? `${s(cfg.thresholdValue)}…${s(cfg.thresholdValue2)}` : s(cfg.thresholdValue));
    }
  }
  if (cfg.timeWindowMinutes !== undefined) parts.push(`over ${s(cfg.timeWindowMinutes)} min`);
  if (cfg.for !== undefined && s(cfg.for) !== '0s') parts.push(`for ${s(cfg.for)}`);
  return parts.filter(Boolean).join(' ');
}

// ---- routing ---------------------------------------------------------------------

export type View = 'metrics' | 'alerts';

/** viewOf reads the view from the location's hash: "#/alerts" is the Alerts view, anything else the metrics. */
export function viewOf(hash: string): View {
  return /^#\/?alerts\/?$/i.test(hash) ? 'alerts' : 'metrics';
}
