import { useCallback, useEffect, useMemo, useState } from 'react';
import { useWebSocketMetrics } from './useWebSocketMetrics';
import { RateHistory } from './ring';
import type { MetricsSnapshot } from './types';
import { ConnectionBadge } from './components/ConnectionBadge';
import { RateChart } from './components/RateChart';
import { formatClock, formatRate } from './format';
import { Anomalies, BySeverity, BySource, ByType, KpiRow, Panel, TimeWindows, TopEvents, TopUsers } from './components/Panels';
import { AlertsView } from './components/AlertsView';
import { useAlerts } from './useAlerts';
import { openAlerts, viewOf, type View } from './alerts';
import type { Alert, AlertTransition } from './api';

/** useView is the view named by the location's hash (#/alerts), following its changes. */
function useView(): View {
  const [view, setView] = useState<View>(() => viewOf(window.location.hash));
  useEffect(() => {
    const onHash = () => setView(viewOf(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return view;
}

function Nav({ view, firing }: { view: View; firing: number }) {
  return (
    <nav className="views" aria-label="Views">
      <a href="#/" aria-current={view === 'metrics' ? 'page' : undefined} data-testid="nav-metrics">
        Metrics
      </a>
      <a href="#/alerts" aria-current={view === 'alerts' ? 'page' : undefined} data-testid="nav-alerts">
        Alerts
        {firing > 0 && (
          <span className="nav-count" data-testid="firing-count">
            {firing}
            <span className="sr-only"> firing</span>
          </span>
        )}
      </a>
    </nav>
  );
}

function EmptyState() {
  const api = new URL('api/v1/events', document.baseURI).toString();
  return (
    <section className="panel empty" data-testid="empty-state">
      <h2>No events yet</h2>
      <p>The dashboard fills in as soon as the first event arrives. Send one:</p>
      <pre>
        curl -X POST {api} \{'\n'}  -H 'Content-Type: application/json' \{'\n'}  -d
        {" '{\"eventType\":\"page_view\",\"source\":\"web\"}'"}
      </pre>
    </section>
  );
}

function Waiting() {
  return (
    <section className="panel empty" data-testid="waiting">
      <h2>Waiting for data…</h2>
      <p className="muted">The first metrics snapshot arrives within a second of connecting.</p>
    </section>
  );
}

export function App() {
  const history = useMemo(() => new RateHistory(300), []);
  const [version, setVersion] = useState(0);
  const onMessage = useCallback(
    (m: MetricsSnapshot) => {
      if (history.add(m)) setVersion((v) => v + 1);
    },
    [history],
  );
  const view = useView();
  const alerts = useAlerts();
  // Counts live transitions: the Alerts view reloads the rules (trigger counts) on each.
  const [transitions, setTransitions] = useState(0);
  const { onAlert: feedAlert, reload: reloadAlerts } = alerts;
  const onAlert = useCallback(
    (a: Alert, t: AlertTransition) => {
      feedAlert(a, t);
      setTransitions((n) => n + 1);
    },
    [feedAlert],
  );
  const { metrics, connectionState, error, reconnect } = useWebSocketMetrics(undefined, {
    onMessage,
    // Alerts ride the same connection; after each (re)connection the list is
    // fetched again, since pushes are lost while disconnected.
    onAlert,
    onConnect: reloadAlerts,
    // A wall screen should ride out a long restart: about 5 minutes of tries before ERROR.
    maxReconnectAttempts: 100,
  });
  const firing = openAlerts(alerts.book).filter((a) => a.status === 'FIRING').length;

  // Re-render every few seconds anyway so relative times ("12 s ago") age.
  const [, tick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => tick((n) => n + 1), 5000);
    return () => clearInterval(id);
  }, []);

  const m = metrics;
  return (
    <div className="app">
      <header>
        <div className="header-left">
          <h1>
            <span className="logo" aria-hidden="true">◆</span> Eventara
          </h1>
          <Nav view={view} firing={firing} />
        </div>
        <div className="header-right">
          <a className="docs-link small" href="docs" data-testid="docs-link" title="The REST API, rendered from its OpenAPI document">API docs</a>
          {m && <span className="muted small" data-testid="last-updated">updated {formatClock(m.summary.lastUpdated)}</span>}
          <ConnectionBadge state={connectionState} error={error} onRetry={reconnect} />
        </div>
      </header>

      {view === 'alerts' ? (
        <AlertsView alerts={alerts} rulesVersion={transitions} />
      ) : !m ? (
        <Waiting />
      ) : (
        <main className={connectionState === 'CONNECTED' ? '' : 'stale'} title={connectionState === 'CONNECTED' ? undefined : 'Not connected: these numbers are not updating'}>
          <KpiRow m={m} />
          <Panel title="Events per second · last 5 minutes" className="chart-panel" testId="chart-panel">
            <div className="legend small">
              <span><i className="sw sw-avg" /> 60 s average</span>
              <span><i className="sw sw-inst" /> each second</span>
              <span className="muted">now {formatRate(m.throughput.current.perSecond)}/s · {formatRate(m.throughput.current.perMinute)}/min</span>
            </div>
            <RateChart history={history} version={version} />
          </Panel>
          {m.summary.totalEvents === 0 ? (
            <EmptyState />
          ) : (
            <>
              <TimeWindows m={m} />
              <div className="grid">
                <ByType m={m} />
                <BySource m={m} />
                <BySeverity m={m} />
                <TopUsers m={m} />
                <TopEvents m={m} />
                <Anomalies m={m} />
              </div>
            </>
          )}
        </main>
      )}
    </div>
  );
}
