// useWebSocketMetrics is the seed document's React hook for the
// /topic/metrics stream (SockJS + STOMP), with its bugs fixed:
//
//   - one reconnection loop: stompjs's own (reconnectDelay); the seed also
//     called connect() from onWebSocketClose, so every drop started a second
//     client and the two multiplied;
//   - a fresh SockJS per attempt: the seed built one socket outside
//     webSocketFactory, so stompjs's retries reused a closed socket;
//   - cleanup: unmount (or a manual retry) deactivates the client and
//     detaches its callbacks, so a late close never touches state again and
//     React StrictMode's mount/unmount/mount leaves exactly one connection;
//   - giving up: after maxReconnectAttempts failed attempts in a row the
//     client is stopped and the state is ERROR; reconnect() starts over.
//
// With onAlert it also subscribes to /topic/alerts on the same connection
// (the Alerts view); onConnect tells the page a (re)connection happened, so
// it can fetch what it missed while disconnected.
import { useCallback, useEffect, useRef, useState } from 'react';
import SockJS from 'sockjs-client';
import { Client, type IMessage } from '@stomp/stompjs';
import type { MetricsSnapshot } from './types';
import type { Alert, AlertTransition } from './api';

export enum ConnectionState {
  CONNECTING = 'CONNECTING',
  CONNECTED = 'CONNECTED',
  DISCONNECTED = 'DISCONNECTED',
  RECONNECTING = 'RECONNECTING',
  ERROR = 'ERROR',
}

/** ALERTS_TOPIC carries alert transitions, one MESSAGE each. */
export const ALERTS_TOPIC = '/topic/alerts';

export interface WebSocketMetricsOptions {
  /** Topic to subscribe to. Zero value: '/topic/metrics'. */
  topic?: string;
  /** Wait between attempts, ms. Zero value: 3000 (the seed's). */
  reconnectDelay?: number;
  /** Failed attempts in a row before giving up with ERROR. Zero value: 10 (the seed's); Infinity never gives up. */
  maxReconnectAttempts?: number;
  /** STOMP heart-beats both ways, ms. Zero value: 4000. */
  heartbeat?: number;
  /** Called with every message, before state is set (e.g. to feed a chart). */
  onMessage?: (m: MetricsSnapshot) => void;
  /**
   * Called with every alert transition pushed on /topic/alerts: the alert
   * (its MESSAGE body) and the `transition` header. Each connection
   * subscribes to /topic/alerts when it is set.
   */
  onAlert?: (alert: Alert, transition: AlertTransition) => void;
  /** Called after each (re)connection, once the subscriptions are made. */
  onConnect?: () => void;
}

export interface WebSocketMetrics {
  metrics: MetricsSnapshot | null;
  connectionState: ConnectionState;
  error: Error | null;
  /** Time (ms since epoch) the last message arrived, or null. */
  lastMessageAt: number | null;
  /** Drop the current client and connect again from scratch. */
  reconnect: () => void;
  /** Stop the client; state becomes DISCONNECTED. */
  disconnect: () => void;
}

/**
 * defaultMetricsUrl resolves "ws" against the page's base URL, so the
 * dashboard talks to its own origin and keeps working under a reverse-proxy
 * sub-path (served at /eventara/, it connects to /eventara/ws).
 */
export function defaultMetricsUrl(): string {
  return new URL('ws', document.baseURI).toString();
}

export function useWebSocketMetrics(
  url: string = defaultMetricsUrl(),
  options: WebSocketMetricsOptions = {},
): WebSocketMetrics {
  const topic = options.topic ?? '/topic/metrics';
  const reconnectDelay = options.reconnectDelay || 3000;
  const maxAttempts = options.maxReconnectAttempts || 10;
  const heartbeat = options.heartbeat || 4000;

  const [metrics, setMetrics] = useState<MetricsSnapshot | null>(null);
  const [connectionState, setConnectionState] = useState(ConnectionState.CONNECTING);
  const [error, setError] = useState<Error | null>(null);
  const [lastMessageAt, setLastMessageAt] = useState<number | null>(null);

  const clientRef = useRef<Client | null>(null);
  const onMessageRef = useRef(options.onMessage);
  onMessageRef.current = options.onMessage;
  const onAlertRef = useRef(options.onAlert);
  onAlertRef.current = options.onAlert;
  const onConnectRef = useRef(options.onConnect);
  onConnectRef.current = options.onConnect;

  const stop = useCallback(() => {
    const client = clientRef.current;
    clientRef.current = null;
    if (!client) return;
    // Detach first: callbacks of a client we let go must not touch state.
    client.onConnect = () => {};
    client.onWebSocketClose = () => {};
    client.onWebSocketError = () => {};
    client.onStompError = () => {};
    client.beforeConnect = () => {};
    void client.deactivate();
  }, []);

  const start = useCallback(() => {
    stop();
    let failures = 0; // attempts in a row that did not reach CONNECTED
    let everConnected = false;

    const client = new Client({
      webSocketFactory: () => new SockJS(url),
      reconnectDelay,
      heartbeatIncoming: heartbeat,
      heartbeatOutgoing: heartbeat,
      // A handshake that hangs (proxy holding the request) counts as a failure.
      connectionTimeout: Math.max(5000, 2 * heartbeat),
    });
    const current = () => clientRef.current === client;

    client.onConnect = () => {
      if (!current()) return;
      failures = 0;
      everConnected = true;
      setError(null);
      setConnectionState(ConnectionState.CONNECTED);
      client.subscribe(topic, (message: IMessage) => {
        if (!current()) return;
        let data: MetricsSnapshot;
        try {
          data = JSON.parse(message.body) as MetricsSnapshot;
        } catch (err) {
          console.warn('eventara: bad metrics message', err);
          return;
        }
        onMessageRef.current?.(data);
        setMetrics(data);
        setLastMessageAt(Date.now());
      });
      if (onAlertRef.current) {
        client.subscribe(ALERTS_TOPIC, (message: IMessage) => {
          if (!current()) return;
          let alert: Alert;
          try {
            alert = JSON.parse(message.body) as Alert;
          } catch (err) {
            console.warn('eventara: bad alert message', err);
            return;
          }
          onAlertRef.current?.(alert, message.headers['transition'] as AlertTransition);
        });
      }
      onConnectRef.current?.();
    };

    client.onStompError = (frame) => {
      if (!current()) return;
      setError(new Error(frame.headers['message'] || 'STOMP error'));
      setConnectionState(ConnectionState.ERROR);
    };

    client.onWebSocketClose = () => {
      if (!current()) return;
      failures++;
      if (failures > maxAttempts) {
        setError(new Error(`Failed to reconnect after ${maxAttempts} attempts`));
        setConnectionState(ConnectionState.ERROR);
        stop();
        return;
      }
      // stompjs schedules the next attempt itself after this callback.
      setConnectionState(everConnected ? ConnectionState.RECONNECTING : ConnectionState.CONNECTING);
    };

    clientRef.current = client;
    setError(null);
    setConnectionState(ConnectionState.CONNECTING);
    client.activate();
  }, [url, topic, reconnectDelay, maxAttempts, heartbeat, stop]);

  const disconnect = useCallback(() => {
    stop();
    setConnectionState(ConnectionState.DISCONNECTED);
  }, [stop]);

  useEffect(() => {
    start();
    return stop;
  }, [start, stop]);

  return { metrics, connectionState, error, lastMessageAt, reconnect: start, disconnect };
}
