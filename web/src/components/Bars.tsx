// Bars is a ranked list with a proportional bar behind each row: the
// breakdown panels (by type, source, severity, users) all use it.
import type { ReactNode } from 'react';

export interface BarRow {
  key: string;
  label: ReactNode;
  value: number;
  display: ReactNode;
  extra?: ReactNode;
  color?: string;
}

export function Bars({ rows, empty = 'Nothing yet', testId }: { rows: BarRow[]; empty?: string; testId?: string }) {
  if (rows.length === 0) return <p className="muted small">{empty}</p>;
  const max = Math.max(...rows.map((r) => r.value), 1);
  return (
    <ul className="bars" data-testid={testId}>
      {rows.map((r) => (
        <li key={r.key}>
          <div
            className="bar"
            style={{ width: `${(100 * r.value) / max}%`, background: r.color }}
            aria-hidden="true"
          />
          <span className="bar-label" title={r.key}>
            {r.label}
          </span>
          {r.extra && <span className="bar-extra">{r.extra}</span>}
          <span className="bar-value">{r.display}</span>
        </li>
      ))}
    </ul>
  );
}
