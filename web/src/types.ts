// Types for the metrics snapshot that GET /api/v1/metrics returns and every
// /topic/metrics message carries. Source of truth: spec/metrics.md and
// spec/metrics.schema.json. Every key is always present.

export type SystemHealth = 'healthy' | 'degraded' | 'critical';
export type SourceHealth = 'healthy' | 'degraded' | 'down';
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface Latency {
  avgLatency: number;
  p50: number;
  p95: number;
  p99: number;
  minLatency: number;
  maxLatency: number;
}

export interface Breakdown {
  name: string;
  count: number;
  percentage: number;
}

export interface ErrorStats {
  totalErrors: number;
  errorRate: number;
  errorsByType: Breakdown[];
  errorsBySource: Breakdown[];
}

export interface UserCount {
  userId: string;
  eventCount: number;
}

export interface Ranked {
  type: string;
  count: number;
  avgLatency: number;
}

export interface Anomaly {
  severity: 'info' | 'warning' | 'critical';
  type: 'high_error_rate' | 'high_latency' | 'traffic_spike';
  message: string;
  threshold: number;
  currentValue: number;
  detectedAt: string;
}

export interface MetricsSnapshot {
  summary: {
    totalEvents: number;
    eventsPerSecond: number;
    avgLatency: number;
    errorRate: number;
    uniqueSources: number;
    uniqueEventTypes: number;
    uniqueUsers: number;
    systemHealth: SystemHealth;
    lastUpdated: string;
  };
  throughput: {
    current: { perSecond: number; perMinute: number; perHour: number; perDay: number };
    peak: { value: number; timestamp: string | null };
    average: { last1Hour: number; last24Hours: number };
  };
  timeWindows: {
    last1Minute: number;
    last5Minutes: number;
    last15Minutes: number;
    last1Hour: number;
    last24Hours: number;
  };
  eventsByType: Record<string, { count: number; percentage: number; avgLatency: number; errorCount: number }>;
  eventsBySource: Record<
    string,
    { count: number; health: SourceHealth; avgLatency: number; errorCount: number; errorRate: number }
  >;
  eventsBySeverity: Partial<Record<Severity, number>>;
  latencyMetrics: Latency;
  performance: Latency;
  errorMetrics: ErrorStats;
  errorAnalysis: ErrorStats;
  topUsers: UserCount[];
  userMetrics: {
    totalUniqueUsers: number;
    activeUsersLast1Hour: number;
    activeUsersLast24Hours: number;
    topActiveUsers: UserCount[];
  };
  topEvents: { mostFrequent: Ranked[]; fastest: Ranked[]; slowest: Ranked[] };
  anomalies: Anomaly[];
}
