import { describe, expect, it } from 'vitest';
import metricGo from '../../rules/metric.go?raw';
import type { Alert } from './api';
import { ApiError, errorFromResponse, errorText } from './api';
import {
  describeConfig,
  emptyBook,
  emptyRuleForm,
  formErrors,
  KEEP_RESOLVED,
  mergeAlert,
  METRIC_GROUPS,
  openAlerts,
  reconcile,
  resolvedAlerts,
  ruleRequest,
  viewOf,
  type AlertBook,
} from './alerts';

function alert(id: string, over: Partial<Alert> = {}): Alert {
  return {
    id,
    seq: 1,
    ruleId: id.split('-')[0],
    ruleName: `rule ${id}`,
    ruleVersion: 1,
    severity: 'WARNING',
    priority: 0,
    status: 'PENDING',
    message: 'm',
    thresholdValue: 5,
    thresholdValue2: null,
    actualValue: 10,
    startsAt: '2026-01-01T00:00:00Z',
    triggeredAt: null,
    resolvedAt: null,
    acknowledgedAt: null,
    notified: false,
    ...over,
  };
}

const firing = (id: string, over: Partial<Alert> = {}) => alert(id, { status: 'FIRING', triggeredAt: '2026-01-01T00:00:02Z', ...over });
const acked = (id: string) => firing(id, { acknowledgedAt: '2026-01-01T00:01:00Z', acknowledgedBy: 'ann' });
const resolved = (id: string, at = '2026-01-01T00:05:00Z') => alert(id, { status: 'RESOLVED', triggeredAt: '2026-01-01T00:00:02Z', resolvedAt: at });
const ids = (as: Alert[]) => as.map((a) => `${a.id}:${a.status}${a.acknowledgedAt ? '+ack' : ''}`).join(' ');

describe('the alert book', () => {
  it('follows an alert from pending to resolved, never back', () => {
    let b: AlertBook = mergeAlert(emptyBook, alert('r1-1'), 'ALERT_PENDING');
    expect(ids(openAlerts(b))).toBe('r1-1:PENDING');
    b = mergeAlert(b, firing('r1-1'), 'ALERT_FIRING');
    b = mergeAlert(b, acked('r1-1'), 'ALERT_ACKNOWLEDGED');
    // A list answer built before the acknowledgement arrives late: ignored.
    b = mergeAlert(b, firing('r1-1'));
    expect(ids(openAlerts(b))).toBe('r1-1:FIRING+ack');
    b = mergeAlert(b, resolved('r1-1'), 'ALERT_RESOLVED');
    b = mergeAlert(b, acked('r1-1'));
    expect(openAlerts(b)).toEqual([]);
    expect(ids(resolvedAlerts(b))).toBe('r1-1:RESOLVED');
  });

  it('drops a canceled pending alert for good', () => {
    let b = mergeAlert(emptyBook, alert('r1-1'), 'ALERT_PENDING');
    b = mergeAlert(b, alert('r1-1'), 'ALERT_CANCELED');
    b = mergeAlert(b, alert('r1-1')); // a stale list answer
    expect(openAlerts(b)).toEqual([]);
  });

  it('lists firing before pending, critical first, newest first', () => {
    let b = emptyBook;
    b = mergeAlert(b, alert('p-1', { severity: 'CRITICAL' }));
    b = mergeAlert(b, firing('w-1', { startsAt: '2026-01-01T00:00:00Z' }));
    b = mergeAlert(b, firing('w-2', { startsAt: '2026-01-01T00:03:00Z' }));
    b = mergeAlert(b, firing('c-1', { severity: 'CRITICAL' }));
    expect(ids(openAlerts(b))).toBe('c-1:FIRING w-2:FIRING w-1:FIRING p-1:PENDING');
  });

  it(`keeps the ${KEEP_RESOLVED} newest resolved alerts`, () => {
    let b = emptyBook;
    for (let i = 0; i < KEEP_RESOLVED + 5; i++) b = mergeAlert(b, resolved(`r${i}-1`, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()));
    const list = resolvedAlerts(b);
    expect(list).toHaveLength(KEEP_RESOLVED);
    expect(list[0].id).toBe(`r${KEEP_RESOLVED + 4}-1`);
  });

  it('reconciles with a fresh list: ended alerts go, live news and history stay', () => {
    let b = emptyBook;
    b = mergeAlert(b, firing('gone-1')); // ended while disconnected
    b = mergeAlert(b, firing('kept-1'));
    b = mergeAlert(b, acked('newer-1')); // acknowledged after the list was built
    b = mergeAlert(b, resolved('old-1'));
    b = mergeAlert(b, alert('live-1'), 'ALERT_PENDING'); // pushed while the list was on its way
    const next = reconcile(b, [firing('kept-1'), firing('newer-1'), alert('new-1')], [resolved('x-1')], new Set(['live-1']));
    expect(ids(openAlerts(next))).toBe('kept-1:FIRING newer-1:FIRING+ack live-1:PENDING new-1:PENDING');
    expect(ids(resolvedAlerts(next)).split(' ').sort()).toEqual(['old-1:RESOLVED', 'x-1:RESOLVED']);
  });
});

describe('the rule form', () => {
  it('builds the create request, leaving blank fields out', () => {
    const form = { ...emptyRuleForm, name: ' Checkout errors ', severity: 'CRITICAL', threshold: '5', windowMinutes: '1', forDuration: '2s' };
    expect(ruleRequest(form)).toEqual({
      name: 'Checkout errors',
      ruleType: 'THRESHOLD',
      severity: 'CRITICAL',
      ruleConfig: { metricType: 'ERROR_RATE', condition: 'GREATER_THAN', thresholdValue: 5, timeWindowMinutes: 1, for: '2s' },
    });
    const bare = ruleRequest({ ...emptyRuleForm, metricType: 'P95_LATENCY', threshold: '', windowMinutes: '', threshold2: '9' });
    expect(bare.ruleConfig).toEqual({ metricType: 'P95_LATENCY', condition: 'GREATER_THAN' });
  });

  it('sends a threshold that is not a number as typed, so the server names the field', () => {
    expect(ruleRequest({ ...emptyRuleForm, threshold: 'lots' }).ruleConfig.thresholdValue).toBe('lots');
    expect(ruleRequest({ ...emptyRuleForm, threshold: '2.5e1' }).ruleConfig.thresholdValue).toBe(25);
  });

  it('takes the upper bound only for BETWEEN and NOT_BETWEEN', () => {
    const cfg = ruleRequest({ ...emptyRuleForm, condition: 'NOT_BETWEEN', threshold: '10', threshold2: '500' }).ruleConfig;
    expect(cfg).toMatchObject({ thresholdValue: 10, thresholdValue2: 500 });
  });

  it('puts field errors next to their fields', () => {
    const { byField, other } = formErrors({
      'ruleConfig.thresholdValue': 'thresholdValue must be a valid number',
      name: 'already used by rule 01K',
      'ruleConfig.sourceFilter': 'unknown',
    });
    expect(byField).toEqual({ threshold: 'thresholdValue must be a valid number', name: 'already used by rule 01K' });
    expect(other).toEqual(['ruleConfig.sourceFilter: unknown']);
  });

  it('offers only metric names the server defines (rules/metric.go)', () => {
    const defined = new Set([...metricGo.matchAll(/Metric = "([A-Z0-9_]+)"/g)].map((m) => m[1]));
    const offered = METRIC_GROUPS.flatMap((g) => g.metrics);
    expect(defined.size).toBeGreaterThan(30);
    expect(offered.filter((m) => !defined.has(m))).toEqual([]);
    // Every metric but the two that need keys the form lacks.
    expect([...defined].filter((m) => !offered.includes(m)).sort()).toEqual(['EVENT_RATIO', 'NO_EVENTS']);
    expect(new Set(offered).size).toBe(offered.length);
  });

  it('describes rules in one line', () => {
    expect(describeConfig({ metricType: 'ERROR_RATE', condition: 'GREATER_THAN', thresholdValue: 5, timeWindowMinutes: 1, for: '2s' })).toBe(
      'ERROR_RATE > 5 over 1 min for 2s',
    );
    expect(describeConfig({ metricType: 'P95_LATENCY', condition: 'not_between', thresholdValue: 10, thresholdValue2: 500 })).toBe(
      'P95_LATENCY not between 10…500',
    );
    expect(describeConfig({ operator: 'OR', conditions: [{ metricType: 'ERROR_RATE', condition: 'GREATER_THAN', value: 5 }, { metricType: 'AVG_LATENCY', condition: 'LESS_THAN', value: 9 }] })).toBe(
      'ERROR_RATE > 5 OR AVG_LATENCY < 9',
    );
    expect(describeConfig({ metricType: 'NO_EVENTS', eventTypeFilter: ['heartbeat'], timeWindowMinutes: 5 })).toBe('NO_EVENTS over 5 min');
  });
});

describe('API errors', () => {
  it('reads the JSON error body', () => {
    const e = errorFromResponse(409, 'Conflict', '{"status":"error","message":"rules: alert is acknowledged already"}');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(errorText(e)).toBe('rules: alert is acknowledged already');
    const f = errorFromResponse(400, 'Bad Request', '{"status":"error","message":"invalid acknowledge request","errors":{"acknowledgedBy":"required: who acknowledges"}}');
    expect(f.fields).toEqual({ acknowledgedBy: 'required: who acknowledges' });
    expect(errorText(f)).toBe('invalid acknowledge request (acknowledgedBy: required: who acknowledges)');
  });

  it('falls back to the status line for a body that is not JSON', () => {
    expect(errorText(errorFromResponse(502, 'Bad Gateway', '<html>upstream down</html>'))).toBe('502 Bad Gateway: <html>upstream down</html>');
    expect(errorText(errorFromResponse(401, 'Unauthorized', ''))).toBe('401 Unauthorized');
  });
});

describe('routes', () => {
  it.each([
    ['', 'metrics'],
    ['#/', 'metrics'],
    ['#/alerts', 'alerts'],
    ['#alerts', 'alerts'],
    ['#/alerts/', 'alerts'],
    ['#/alertsx', 'metrics'],
  ])('%j is the %s view', (hash, want) => expect(viewOf(hash)).toBe(want));
});
