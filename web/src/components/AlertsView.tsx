// The Alerts view: open alerts live (acknowledge, resolve), the recently
// resolved ones, the rules with enable/disable, and a simple rule form with
// a "Test" button.
import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, errorText, type Alert, type Rule, type RuleTestResult } from '../api';
import {
  alertState,
  CONDITIONS,
  describeConfig,
  emptyRuleForm,
  formErrors,
  METRIC_GROUPS,
  openAlerts,
  ranged,
  resolvedAlerts,
  ruleRequest,
  SEVERITIES,
  windowHint,
  type RuleForm,
  type RuleFormField,
} from '../alerts';
import type { Alerts } from '../useAlerts';
import { formatAgo, formatClock } from '../format';
import { Panel } from './Panels';

const num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

// ---- who is acting: remembered in this browser -------------------------------

const WHO_KEY = 'eventara.who';

function storedWho(): string {
  try {
    return localStorage.getItem(WHO_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberWho(who: string) {
  try {
    localStorage.setItem(WHO_KEY, who);
  } catch {
    // storage off: nothing to remember
  }
}

// ---- alerts ------------------------------------------------------------------------

type Action = 'acknowledge' | 'resolve';
const ACTION_LABEL: Record<Action, string> = { acknowledge: 'Acknowledge', resolve: 'Resolve' };

/** HandleForm asks who acknowledges or resolves an alert, and a note. */
function HandleForm({ alert, action, onDone, onCancel }: { alert: Alert; action: Action; onDone: (a: Alert) => void; onCancel: () => void }) {
  const [who, setWho] = useState(storedWho);
  const [notes, setNotes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const a = action === 'acknowledge' ? await api.acknowledge(alert.id, who.trim(), notes) : await api.resolve(alert.id, who.trim(), notes);
      rememberWho(who.trim());
      onDone(a);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="handle-form" onSubmit={submit} aria-label={`${ACTION_LABEL[action]} alert ${alert.ruleName}`} data-testid={`${action}-form`}>
      <label htmlFor={`${id}-who`}>Who</label>
      <input id={`${id}-who`} name="who" value={who} onChange={(e) => setWho(e.target.value)} required maxLength={200} autoComplete="name" />
      <label htmlFor={`${id}-notes`}>Note</label>
      <input id={`${id}-notes`} name="notes" value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={2000} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {ACTION_LABEL[action]}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      {error && (
        <p className="form-error" role="alert" data-testid="action-error">
          {error}
        </p>
      )}
    </form>
  );
}

function AlertItem({ alert, onChanged }: { alert: Alert; onChanged: (a: Alert) => void }) {
  const [action, setAction] = useState<Action | null>(null);
  const state = alertState(alert);
  const bound = alert.thresholdValue2 === null ? num.format(alert.thresholdValue) : `${num.format(alert.thresholdValue)}…${num.format(alert.thresholdValue2)}`;
  return (
    <li className={`alert-item sev-${alert.severity.toLowerCase()}`} data-testid="alert" data-alert-id={alert.id} data-state={state}>
      <div className="alert-head">
        <span className={`pill sev-${alert.severity.toLowerCase()}`}>{alert.severity}</span>
        <span className={`pill state-${state.toLowerCase()}`} data-testid="alert-state">
          {state}
        </span>
        <b className="alert-rule">{alert.ruleName}</b>
        <span className="muted small" title={alert.triggeredAt ?? alert.startsAt}>
          {alert.triggeredAt ? `fired ${formatAgo(alert.triggeredAt)}` : `pending since ${formatClock(alert.startsAt)}`}
        </span>
      </div>
      <div className="small">{alert.message}</div>
      <div className="muted small">
        value {num.format(alert.actualValue)} · threshold {bound}
        {alert.acknowledgedBy && (
          <span data-testid="acknowledged-by">
            {' '}
            · acknowledged by <b>{alert.acknowledgedBy}</b>
            {alert.acknowledgmentNotes ? `: “${alert.acknowledgmentNotes}”` : ''}
          </span>
        )}
      </div>
      {alert.status === 'FIRING' && !action && (
        <div className="alert-actions">
          {!alert.acknowledgedAt && (
            <button type="button" className="btn" onClick={() => setAction('acknowledge')} aria-label={`Acknowledge alert ${alert.ruleName}`}>
              Acknowledge
            </button>
          )}
          <button type="button" className="btn" onClick={() => setAction('resolve')} aria-label={`Resolve alert ${alert.ruleName}`}>
            Resolve
          </button>
        </div>
      )}
      {alert.status === 'FIRING' && action && (
        <HandleForm
          alert={alert}
          action={action}
          onCancel={() => setAction(null)}
          onDone={(a) => {
            setAction(null);
            onChanged(a);
          }}
        />
      )}
    </li>
  );
}

function OpenAlerts({ alerts }: { alerts: Alerts }) {
  const list = openAlerts(alerts.book);
  return (
    <Panel title={`Open alerts · ${list.length}`} testId="open-alerts" className={list.some((a) => a.status === 'FIRING') ? 'panel-alert' : ''}>
      {alerts.loadError && (
        <p className="form-error" role="alert">
          {alerts.loadError}
        </p>
      )}
      {list.length === 0 ? (
        alerts.loaded && <p className="all-clear">✓ No pending or firing alerts</p>
      ) : (
        <ul className="alert-list" aria-live="polite">
          {list.map((a) => (
            <AlertItem key={a.id} alert={a} onChanged={alerts.update} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

function ResolvedAlerts({ alerts }: { alerts: Alerts }) {
  const list = resolvedAlerts(alerts.book);
  return (
    <Panel title="Recently resolved" testId="resolved-alerts">
      {list.length === 0 ? (
        <p className="muted small">None yet</p>
      ) : (
        <table className="rank">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Severity</th>
              <th scope="col">Resolved</th>
              <th scope="col">How</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} data-testid="resolved-alert" data-alert-id={a.id}>
                <td className="rank-name" title={a.message}>
                  {a.ruleName}
                </td>
                <td>
                  <span className={`pill sev-${a.severity.toLowerCase()}`}>{a.severity}</span>
                </td>
                <td className="num" title={a.resolvedAt ?? ''}>
                  {formatAgo(a.resolvedAt)}
                </td>
                <td className="muted small">
                  {a.resolutionType === 'MANUAL' ? `by ${a.resolvedBy ?? '?'}` : 'cleared'}
                  {a.resolutionNotes ? `: ${a.resolutionNotes}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

// ---- rules ------------------------------------------------------------------------------

function RuleRow({ rule, onChanged }: { rule: Rule; onChanged: (r: Rule) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const active = rule.status === 'ACTIVE';
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.setRuleStatus(rule.id, active ? 'disable' : 'enable'));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-testid="rule" data-rule-id={rule.id} data-status={rule.status}>
      <td className="rank-name" title={rule.description || rule.name}>
        {rule.name}
      </td>
      <td>
        <span className={`pill sev-${rule.severity.toLowerCase()}`}>{rule.severity}</span>
      </td>
      <td>
        <span className={`pill status-${rule.status.toLowerCase()}`} data-testid="rule-status">
          {rule.status}
        </span>
      </td>
      <td className="small rule-cond">{describeConfig(rule.ruleConfig)}</td>
      <td className="num">{rule.triggerCount}</td>
      <td className="num muted">{formatAgo(rule.lastTriggeredAt)}</td>
      <td>
        <button type="button" className="btn" onClick={toggle} disabled={busy} aria-label={`${active ? 'Disable' : 'Enable'} rule ${rule.name}`}>
          {active ? 'Disable' : 'Enable'}
        </button>
        {error && (
          <div className="form-error small" role="alert">
            {error}
          </div>
        )}
      </td>
    </tr>
  );
}

function RulesTable({ rules, loadError, onChanged }: { rules: Rule[] | null; loadError: string | null; onChanged: (r: Rule) => void }) {
  return (
    <Panel title={`Rules${rules ? ` · ${rules.length}` : ''}`} testId="rules">
      {loadError && (
        <p className="form-error" role="alert">
          {loadError}
        </p>
      )}
      {rules && rules.length === 0 && <p className="muted small">No rules yet: create one below. A new rule is a DRAFT until it is enabled.</p>}
      {rules && rules.length > 0 && (
        <table className="rank rules-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Severity</th>
              <th scope="col">Status</th>
              <th scope="col">Condition</th>
              <th scope="col" className="num">
                Fired
              </th>
              <th scope="col" className="num">
                Last fired
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <RuleRow key={r.id} rule={r} onChanged={onChanged} />
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

// ---- the rule form ------------------------------------------------------------------

function Field({ id, field, label, error, hint, children }: { id: string; field: RuleFormField; label: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && !error && (
        <span className="muted small" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error small" id={`${id}-error`} data-testid={`error-${field}`}>
          {error}
        </span>
      )}
    </div>
  );
}

function RuleFormPanel({ onCreated }: { onCreated: (r: Rule) => void }) {
  const [form, setForm] = useState<RuleForm>(emptyRuleForm);
  const [errors, setErrors] = useState<Partial<Record<RuleFormField, string>>>({});
  const [other, setOther] = useState<string[]>([]);
  const [result, setResult] = useState<RuleTestResult | null>(null);
  const [created, setCreated] = useState<Rule | null>(null);
  const [busy, setBusy] = useState(false);
  const base = useId();
  const fid = (f: RuleFormField) => `${base}-${f}`;

  const set = (f: RuleFormField) => (e: { target: { value: string } }) => {
    const value = e.target.value;
    setForm((prev) => {
      const next = { ...prev, [f]: value };
      // Metrics with a window of their own, or since the last reset, take no window.
      if (f === 'metricType' && /^(empty|its own)/.test(windowHint(value))) next.windowMinutes = '';
      return next;
    });
  };
  const inputProps = (f: RuleFormField) => ({
    id: fid(f),
    name: f,
    value: form[f],
    onChange: set(f),
    'aria-invalid': errors[f] ? true : undefined,
    'aria-describedby': errors[f] ? `${fid(f)}-error` : undefined,
  });

  const call = async (what: 'test' | 'create') => {
    setBusy(true);
    setErrors({});
    setOther([]);
    setResult(null);
    setCreated(null);
    try {
      const body = ruleRequest(form);
      if (what === 'test') {
        setResult(await api.testRule(body));
      } else {
        const rule = await api.createRule(body);
        setCreated(rule);
        onCreated(rule);
        setForm((f) => ({ ...f, name: '' }));
      }
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length > 0) {
        const { byField, other } = formErrors(err.fields);
        setErrors(byField);
        setOther(other.length || Object.keys(byField).length ? other : [err.message]);
      } else {
        setOther([errorText(err)]);
      }
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void call('create');
  };

  return (
    <Panel title="New rule" testId="rule-form">
      <form className="rule-form" onSubmit={submit} aria-label="New rule" noValidate>
        <Field id={fid('name')} field="name" label="Name" error={errors.name}>
          <input {...inputProps('name')} maxLength={200} placeholder="Checkout errors" />
        </Field>
        <Field id={fid('severity')} field="severity" label="Severity" error={errors.severity}>
          <select {...inputProps('severity')}>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <Field id={fid('metricType')} field="metricType" label="Metric" error={errors.metricType}>
          <select {...inputProps('metricType')}>
            {METRIC_GROUPS.map((g) => (
              <optgroup key={g.label} label={g.label}>
                {g.metrics.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </optgroup>
            ))}
          </select>
        </Field>
        <Field id={fid('condition')} field="condition" label="Condition" error={errors.condition}>
          <select {...inputProps('condition')}>
            {CONDITIONS.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label} ({c.value})
              </option>
            ))}
          </select>
        </Field>
        <Field id={fid('threshold')} field="threshold" label={ranged(form.condition) ? 'Threshold (low)' : 'Threshold'} error={errors.threshold}>
          <input {...inputProps('threshold')} inputMode="decimal" placeholder="5" />
        </Field>
        {ranged(form.condition) && (
          <Field id={fid('threshold2')} field="threshold2" label="Threshold (high)" error={errors.threshold2}>
            <input {...inputProps('threshold2')} inputMode="decimal" />
          </Field>
        )}
        <Field id={fid('windowMinutes')} field="windowMinutes" label="Window, minutes" error={errors.windowMinutes} hint={windowHint(form.metricType)}>
          <input {...inputProps('windowMinutes')} inputMode="numeric" placeholder="30" />
        </Field>
        <Field id={fid('forDuration')} field="forDuration" label="For" error={errors.forDuration} hint="how long it must hold, e.g. 30s, 5m">
          <input {...inputProps('forDuration')} placeholder="0s" />
        </Field>
        <div className="form-buttons">
          <button type="button" className="btn" onClick={() => void call('test')} disabled={busy} data-testid="rule-test">
            Test
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="rule-create">
            Create rule
          </button>
        </div>
      </form>
      {other.length > 0 && (
        <div className="form-error" role="alert" data-testid="rule-form-error">
          {other.map((o) => (
            <div key={o}>{o}</div>
          ))}
        </div>
      )}
      {Object.keys(errors).length > 0 && other.length === 0 && (
        <p className="form-error small" role="alert">
          The rule is not valid: see the fields marked above.
        </p>
      )}
      {result && (
        <div className="test-result" role="status" data-testid="rule-test-result" data-success={result.success}>
          <b>{result.success ? '✓ ' : '✗ '}{result.message}</b>
          <div className="small">{result.description}</div>
          {[...result.errors, ...result.warnings].map((w) => (
            <div key={w} className="muted small">
              • {w}
            </div>
          ))}
        </div>
      )}
      {created && (
        <p className="test-result small" role="status" data-testid="rule-created">
          Created “{created.name}” as {created.status}: enable it in the list of rules to have it evaluated.
        </p>
      )}
    </Panel>
  );
}

// ---- the view ------------------------------------------------------------------------------

/**
 * AlertsView shows alerts (kept live by the page's STOMP connection) and
 * the rules; rulesVersion changes when a transition arrives, so that the
 * rules' trigger counts follow.
 */
export function AlertsView({ alerts, rulesVersion }: { alerts: Alerts; rulesVersion: number }) {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [rulesError, setRulesError] = useState<string | null>(null);

  const loadRules = useCallback(async () => {
    try {
      setRules(await api.rules());
      setRulesError(null);
    } catch (err) {
      setRulesError(`Could not load the rules: ${errorText(err)}`);
    }
  }, []);

  useEffect(() => {
    void loadRules();
  }, [loadRules, rulesVersion]);

  const { reload } = alerts;
  useEffect(() => {
    void reload();
  }, [reload]);

  const changed = (r: Rule) => setRules((list) => (list ?? []).map((x) => (x.id === r.id ? r : x)));
  const created = (r: Rule) => setRules((list) => [...(list ?? []).filter((x) => x.id !== r.id), r]);

  return (
    <main className="alerts-view" data-testid="alerts-view">
      <div className="alerts-grid">
        <OpenAlerts alerts={alerts} />
        <ResolvedAlerts alerts={alerts} />
      </div>
      <RulesTable rules={rules} loadError={rulesError} onChanged={changed} />
      <RuleFormPanel onCreated={created} />
    </main>
  );
}
