// useAlerts keeps the alert book: the open alerts and the recently resolved
// ones, loaded from GET /api/v1/alerts and kept current by the transitions
// pushed on /topic/alerts (fed through onAlert by the page's one STOMP
// connection, useWebSocketMetrics).
import { useCallback, useRef, useState } from 'react';
import { api, type Alert, type AlertTransition } from './api';
import { emptyBook, KEEP_RESOLVED, mergeAlert, reconcile, type AlertBook } from './alerts';

export interface Alerts {
  book: AlertBook;
  /** Why the last load failed, or null. */
  loadError: string | null;
  /** Whether a list answer has arrived. */
  loaded: boolean;
  /** Fetch the lists again (on every (re)connection: pushes may have been missed). */
  reload: () => Promise<void>;
  /** A live transition from /topic/alerts. */
  onAlert: (alert: Alert, transition: AlertTransition) => void;
  /** An alert the API answered (acknowledge, resolve). */
  update: (alert: Alert) => void;
}

export function useAlerts(): Alerts {
  const [book, setBook] = useState<AlertBook>(emptyBook);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  // Ids pushed live since the newest load started, and that load's number:
  // an older load's answer is dropped.
  const live = useRef(new Set<string>());
  const loads = useRef(0);

  const reload = useCallback(async () => {
    const n = ++loads.current;
    const since = new Set<string>();
    live.current = since;
    try {
      const [open, resolved] = await Promise.all([api.openAlerts(), api.recentResolved(KEEP_RESOLVED)]);
      if (n !== loads.current) return;
      setBook((b) => reconcile(b, open.content, resolved.content, since));
      setLoadError(null);
      setLoaded(true);
    } catch (err) {
      if (n !== loads.current) return;
      setLoadError(`Could not load the alerts: ${err instanceof Error ? err.message : String(err)}`);
    }
  }, []);

  const onAlert = useCallback((alert: Alert, transition: AlertTransition) => {
    live.current.add(alert.id);
    setBook((b) => mergeAlert(b, alert, transition));
  }, []);

  const update = useCallback((alert: Alert) => setBook((b) => mergeAlert(b, alert)), []);

  return { book, loadError, loaded, reload, onAlert, update };
}
