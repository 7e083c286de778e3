// The REST API the Alerts view calls: rules and alerts at the original
// Eventara's paths and shapes (README "Alerts and rules", spec/openapi.json).
// URLs are relative to the page, like the STOMP one, so the dashboard keeps
// working behind a reverse proxy under a sub-path.
//
// No token is sent: the dashboard has no sign-in, so it needs a server
// without authentication (or a proxy that adds the header).

export type AlertSeverity = 'INFO' | 'WARNING' | 'CRITICAL';
export type AlertStatus = 'PENDING' | 'FIRING' | 'RESOLVED';
export type RuleStatus = 'DRAFT' | 'ACTIVE' | 'INACTIVE' | 'ARCHIVED';
/** The `transition` header of a /topic/alerts MESSAGE. */
export type AlertTransition = 'ALERT_PENDING' | 'ALERT_FIRING' | 'ALERT_ACKNOWLEDGED' | 'ALERT_RESOLVED' | 'ALERT_CANCELED';

/** Alert is the server's alert (rules.Alert), as GET /api/v1/alerts/{id} answers it. */
export interface Alert {
  id: string;
  seq: number;
  ruleId: string;
  ruleName: string;
  ruleVersion: number;
  severity: AlertSeverity;
  priority: number;
  status: AlertStatus;
  message: string;
  thresholdValue: number;
  thresholdValue2: number | null;
  actualValue: number;
  startsAt: string;
  triggeredAt: string | null;
  resolvedAt: string | null;
  acknowledgedBy?: string;
  acknowledgedAt: string | null;
  acknowledgmentNotes?: string;
  resolvedBy?: string;
  resolutionNotes?: string;
  resolutionType?: 'AUTO' | 'MANUAL';
  notified: boolean;
  notifySkipped?: string;
}

export interface AlertPage {
  content: Alert[];
  page: number;
  size: number;
  totalElements: number;
  totalPages: number;
}

/** Rule is the original's RuleResponse. */
export interface Rule {
  id: string;
  name: string;
  description: string;
  ruleType: string;
  status: RuleStatus;
  ruleConfig: Record<string, unknown>;
  severity: AlertSeverity;
  priority: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lastTriggeredAt: string | null;
  triggerCount: number;
  version: number;
}

/** The body of POST /api/v1/rules (the fields the form sets). */
export interface CreateRuleRequest {
  name: string;
  ruleType: 'THRESHOLD';
  severity: string;
  ruleConfig: Record<string, unknown>;
}

/** The answer of POST /api/v1/rules/test. */
export interface RuleTestResult {
  success: boolean;
  message: string;
  description: string;
  errors: string[];
  warnings: string[];
}

/**
 * ApiError is a refused or failed call: the status and the server's JSON
 * `message` and `errors` (field → message) when it sent them.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string>;
  constructor(status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
  }
}

/** apiUrl resolves an API path ("api/v1/…", no leading slash) against the page. */
export function apiUrl(path: string): string {
  return new URL(path, document.baseURI).toString();
}

/**
 * errorFromResponse builds an ApiError from a non-2xx answer: the JSON
 * `{status:"error", message, errors}` body when there is one, else the
 * status line and the start of the text.
 */
export function errorFromResponse(status: number, statusText: string, text: string): ApiError {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object') {
      const { message, errors } = body as { message?: unknown; errors?: unknown };
      const fields: Record<string, string> = {};
      if (errors && typeof errors === 'object') {
        for (const [k, v] of Object.entries(errors)) if (typeof v === 'string') fields[k] = v;
      }
      if (typeof message === 'string' && message) return new ApiError(status, message, fields);
    }
  } catch {
    // not JSON: fall through
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(status, `${status} ${statusText}${snippet ? `: ${snippet}` : ''}`);
}

/** request calls the API and returns its JSON; a non-2xx answer or a network failure throws ApiError. */
export async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  if (!res.ok) throw errorFromResponse(res.status, res.statusText, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  openAlerts: () => request<AlertPage>('GET', 'api/v1/alerts?status=PENDING,FIRING&sortBy=startsAt&sortDirection=DESC&size=100'),
  recentResolved: (size: number) =>
    request<AlertPage>('GET', `api/v1/alerts?status=RESOLVED&sortBy=resolvedAt&sortDirection=DESC&size=${size}`),
  acknowledge: (id: string, by: string, notes: string) =>
    request<Alert>('POST', `api/v1/alerts/${encodeURIComponent(id)}/acknowledge`, { acknowledgedBy: by, acknowledgmentNotes: notes }),
  resolve: (id: string, by: string, notes: string) =>
    request<Alert>('POST', `api/v1/alerts/${encodeURIComponent(id)}/resolve`, { resolvedBy: by, resolutionNotes: notes }),
  rules: () => request<Rule[]>('GET', 'api/v1/rules'),
  createRule: (r: CreateRuleRequest) => request<Rule>('POST', 'api/v1/rules', r),
  testRule: (r: CreateRuleRequest) => request<RuleTestResult>('POST', 'api/v1/rules/test', r),
  setRuleStatus: (id: string, action: 'enable' | 'disable') => request<Rule>('POST', `api/v1/rules/${encodeURIComponent(id)}/${action}`),
};

/**
 * errorText is a failed call for people: the server's message, and its
 * field errors that the message does not already name.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!(err instanceof ApiError)) return err.message;
  const extra = Object.entries(err.fields)
    .filter(([, v]) => !err.message.includes(v))
    .map(([k, v]) => `${k}: ${v}`);
  return extra.length ? `${err.message} (${extra.join('; ')})` : err.message;
}
