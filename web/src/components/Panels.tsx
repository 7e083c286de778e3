// The dashboard's panels: each reads one part of the snapshot.
import type { ReactNode } from 'react';
import type { Anomaly, MetricsSnapshot, Ranked, Severity, SourceHealth, SystemHealth } from '../types';
import { Bars } from './Bars';
import {
  formatAgo,
  formatClock,
  formatCompact,
  formatCount,
  formatLatency,
  formatLatencyParts,
  formatPercent,
  formatRate,
} from '../format';

export function Panel({ title, children, className = '', testId }: { title: string; children: ReactNode; className?: string; testId?: string }) {
  return (
    <section className={`panel ${className}`} data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function Kpi({ label, value, unit, sub, testId, raw, tone }: { label: string; value: string; unit?: string; sub?: ReactNode; testId: string; raw: number | string; tone?: string }) {
  return (
    <div className={`kpi ${tone ? `tone-${tone}` : ''}`}>
      <div className="kpi-label">{label}</div>
      <div className={`kpi-value${value.length > 9 ? ' long' : ''}`} data-testid={testId} data-value={raw}>
        {value}
        {unit && <span className="unit">{unit}</span>}
      </div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}

const HEALTH_TONE: Record<SystemHealth | SourceHealth, string> = {
  healthy: 'good',
  degraded: 'warn',
  critical: 'bad',
  down: 'bad',
};

export function HealthPill({ health }: { health: SystemHealth | SourceHealth }) {
  return <span className={`pill tone-${HEALTH_TONE[health] ?? 'warn'}`}>{health}</span>;
}

export function KpiRow({ m }: { m: MetricsSnapshot }) {
  const s = m.summary;
  const lat = m.latencyMetrics;
  const [p95v, p95u] = formatLatencyParts(lat.p95);
  const errTone = s.errorRate > 10 ? 'bad' : s.errorRate > 5 ? 'warn' : undefined;
  return (
    <div className="kpis">
      <Kpi
        label="Total events"
        testId="total-events"
        raw={s.totalEvents}
        value={formatCount(s.totalEvents)}
        sub={`${formatCount(s.uniqueEventTypes)} types · ${formatCount(s.uniqueSources)} sources · ${formatCount(s.uniqueUsers)} users`}
      />
      <Kpi
        label="Events per second"
        testId="events-per-second"
        raw={s.eventsPerSecond}
        value={formatRate(s.eventsPerSecond)}
        unit="/s"
        sub={`peak ${formatCount(m.throughput.peak.value)}/s${m.throughput.peak.timestamp ? ` at ${formatClock(m.throughput.peak.timestamp)}` : ''}`}
      />
      <Kpi
        label="Error rate"
        testId="error-rate"
        raw={s.errorRate}
        value={formatPercent(s.errorRate).replace(' %', '')}
        unit="%"
        tone={errTone}
        sub={`${formatCount(m.errorMetrics.totalErrors)} errors`}
      />
      <Kpi
        label="Latency p95"
        testId="latency-p95"
        raw={lat.p95}
        value={p95v}
        unit={p95u}
        sub={
          <>
            p50 <b data-testid="latency-p50">{formatLatency(lat.p50)}</b> · p99 <b data-testid="latency-p99">{formatLatency(lat.p99)}</b>
          </>
        }
      />
      <div className={`kpi tone-${HEALTH_TONE[s.systemHealth] ?? 'warn'}`}>
        <div className="kpi-label">System health</div>
        <div className="kpi-value health" data-testid="system-health" data-value={s.systemHealth}>
          {s.systemHealth}
        </div>
        <div className="kpi-sub">
          {m.anomalies.length === 0 ? 'no anomalies' : `${m.anomalies.length} anomal${m.anomalies.length === 1 ? 'y' : 'ies'}`}
        </div>
      </div>
    </div>
  );
}

const WINDOWS: [keyof MetricsSnapshot['timeWindows'], string][] = [
  ['last1Minute', '1 min'],
  ['last5Minutes', '5 min'],
  ['last15Minutes', '15 min'],
  ['last1Hour', '1 hour'],
  ['last24Hours', '24 hours'],
];

export function TimeWindows({ m }: { m: MetricsSnapshot }) {
  return (
    <Panel title="Time windows" testId="time-windows">
      <div className="windows">
        {WINDOWS.map(([k, label]) => (
          <div key={k} className="window">
            <div className="window-value" data-testid={`window-${k}`} data-value={m.timeWindows[k]}>
              {formatCompact(m.timeWindows[k])}
            </div>
            <div className="muted small">last {label}</div>
          </div>
        ))}
      </div>
      <div className="muted small throughput">
        avg {formatRate(m.throughput.average.last1Hour)}/s over 1 h · {formatRate(m.throughput.average.last24Hours)}/s over 24 h ·
        latency min {formatLatency(m.latencyMetrics.minLatency)}, avg {formatLatency(m.latencyMetrics.avgLatency)}, max {formatLatency(m.latencyMetrics.maxLatency)}
      </div>
    </Panel>
  );
}

const byCount = <T extends { count: number }>(e: Record<string, T>, n = 10) =>
  Object.entries(e)
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, n);

export function ByType({ m }: { m: MetricsSnapshot }) {
  const rows = byCount(m.eventsByType).map(([name, v]) => ({
    key: name,
    label: name,
    value: v.count,
    display: formatCount(v.count),
    extra: (
      <>
        {formatPercent(v.percentage)} · {formatLatency(v.avgLatency)}
        {v.errorCount > 0 && <span className="tone-bad-text"> · {formatCount(v.errorCount)} err</span>}
      </>
    ),
  }));
  return (
    <Panel title="Events by type" testId="by-type">
      <Bars rows={rows} />
    </Panel>
  );
}

export function BySource({ m }: { m: MetricsSnapshot }) {
  const rows = byCount(m.eventsBySource).map(([name, v]) => ({
    key: name,
    label: (
      <>
        <span className={`dot-s tone-${HEALTH_TONE[v.health] ?? 'warn'}`} title={v.health} aria-label={v.health} /> {name}
      </>
    ),
    value: v.count,
    display: formatCount(v.count),
    extra: (
      <>
        {formatLatency(v.avgLatency)} · <span className={v.errorRate > 5 ? 'tone-bad-text' : ''}>{formatPercent(v.errorRate)} err</span>
      </>
    ),
  }));
  return (
    <Panel title="Events by source" testId="by-source">
      <Bars rows={rows} />
    </Panel>
  );
}

const SEVERITIES: [Severity, string][] = [
  ['CRITICAL', '#ff4d6d'],
  ['ERROR', '#ff8c42'],
  ['WARNING', '#f7b955'],
  ['INFO', '#4cc9f0'],
  ['DEBUG', '#8b95a7'],
];

export function BySeverity({ m }: { m: MetricsSnapshot }) {
  const total = Object.values(m.eventsBySeverity).reduce((a, b) => a + (b ?? 0), 0);
  const rows = SEVERITIES.filter(([s]) => (m.eventsBySeverity[s] ?? 0) > 0).map(([s, color]) => {
    const c = m.eventsBySeverity[s] ?? 0;
    return {
      key: s,
      label: s,
      value: c,
      color: `${color}40`,
      display: formatCount(c),
      extra: formatPercent(total ? (100 * c) / total : 0),
    };
  });
  return (
    <Panel title="By severity" testId="by-severity">
      <Bars rows={rows} />
    </Panel>
  );
}

export function TopUsers({ m }: { m: MetricsSnapshot }) {
  const u = m.userMetrics;
  const rows = m.topUsers.map((x) => ({ key: x.userId, label: x.userId, value: x.eventCount, display: formatCount(x.eventCount) }));
  return (
    <Panel title="Top users" testId="top-users">
      <div className="muted small panel-sub">
        {formatCount(u.totalUniqueUsers)} users · {formatCount(u.activeUsersLast1Hour)} active in 1 h · {formatCount(u.activeUsersLast24Hours)} in 24 h
      </div>
      <Bars rows={rows} empty="No events with a userId yet" />
    </Panel>
  );
}

function RankTable({ rows, caption }: { rows: Ranked[]; caption: string }) {
  if (rows.length === 0) return null;
  return (
    <table className="rank">
      <caption>{caption}</caption>
      <tbody>
        {rows.map((r) => (
          <tr key={r.type}>
            <td className="rank-name" title={r.type}>
              {r.type}
            </td>
            <td className="num">{formatCount(r.count)}</td>
            <td className="num muted">{formatLatency(r.avgLatency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TopEvents({ m }: { m: MetricsSnapshot }) {
  const t = m.topEvents;
  return (
    <Panel title="Top event types" testId="top-events">
      {t.mostFrequent.length === 0 ? (
        <p className="muted small">Nothing yet</p>
      ) : (
        <>
          <RankTable rows={t.mostFrequent.slice(0, 5)} caption="Most frequent" />
          <div className="rank-pair">
            <RankTable rows={t.fastest} caption="Fastest" />
            <RankTable rows={t.slowest} caption="Slowest" />
          </div>
        </>
      )}
    </Panel>
  );
}

const ANOMALY_LABEL: Record<Anomaly['type'], string> = {
  high_error_rate: 'High error rate',
  high_latency: 'High latency',
  traffic_spike: 'Traffic spike',
};

export function Anomalies({ m }: { m: MetricsSnapshot }) {
  return (
    <Panel title="Anomalies" testId="anomalies" className={m.anomalies.length ? 'panel-alert' : ''}>
      {m.anomalies.length === 0 ? (
        <p className="all-clear">✓ No anomalies in the last 5 minutes</p>
      ) : (
        <ul className="anomalies">
          {m.anomalies.map((a, i) => (
            <li key={`${a.type}-${i}`} className={`anomaly sev-${a.severity}`}>
              <div className="anomaly-head">
                <span className={`pill sev-${a.severity}`}>{a.severity}</span>
                <b>{ANOMALY_LABEL[a.type] ?? a.type}</b>
                <span className="muted small">{formatAgo(a.detectedAt)}</span>
              </div>
              <div className="small">{a.message}</div>
              <div className="muted small">
                current {formatRate(a.currentValue)} · threshold {formatRate(a.threshold)}
              </div>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
