import { ConnectionState } from '../useWebSocketMetrics';

const LABEL: Record<ConnectionState, string> = {
  CONNECTING: 'Connecting…',
  CONNECTED: 'Live',
  DISCONNECTED: 'Disconnected',
  RECONNECTING: 'Reconnecting…',
  ERROR: 'Connection error',
};

interface Props {
  state: ConnectionState;
  error: Error | null;
  onRetry: () => void;
}

/** ConnectionBadge shows the seed's connection state, and a retry button whenever not connected. */
export function ConnectionBadge({ state, error, onRetry }: Props) {
  return (
    <div className="conn">
      <span
        className={`badge badge-${state.toLowerCase()}`}
        data-testid="connection-state"
        data-state={state}
        title={error?.message}
        role="status"
        aria-live="polite"
      >
        <span className="dot" aria-hidden="true" />
        {state}
        <span className="sr-only"> {LABEL[state]}</span>
      </span>
      {state !== ConnectionState.CONNECTED && (
        <button type="button" className="retry" onClick={onRetry} data-testid="retry">
          Retry
        </button>
      )}
      {error && state !== ConnectionState.CONNECTED && <span className="conn-error">{error.message}</span>}
    </div>
  );
}
