/** Shapes of the API answers the views read (see docs/http-api.md). */

export interface PartStatus {
  state: string;
  detail?: string;
}
export interface Ready {
  ready: boolean;
  parts: Record<string, PartStatus>;
}
export interface Health {
  status: string;
  version: string | null;
  uptimeSeconds: number;
}

export interface ThroughputPoint {
  time: number;
  totals: Record<string, number>;
  topics: Record<string, Record<string, number>>;
}
export interface ThroughputSeries {
  intervalMs: number;
  times: number[];
  totals: Record<string, number[]>;
  topics: Record<string, Record<string, number[]>>;
}

export type LagStatus = 'OK' | 'WARN' | 'STALLED';
export interface GroupLagSummary {
  groupId: string;
  state: string;
  members: number;
  status: LagStatus;
  reason: string;
  complete: boolean;
  totalLag: number;
  maxLagSeconds: number;
  partitions: number;
  updatedAt: number;
}
export interface PartitionLag {
  topic: string;
  partition: number;
  committedOffset: number | null;
  highWatermark: number;
  lag: number | null;
  lagSeconds: number | null;
  lagSecondsLowerBound: boolean;
  status: LagStatus;
  reason: string;
}
export interface GroupLagDetail extends Omit<GroupLagSummary, 'partitions'> {
  partitions: PartitionLag[];
  history?: { times: number[]; totalLag: number[]; partitions: Record<string, Array<number | null>> };
}
export interface FailureEvent {
  id: number;
  time: number;
  severity: 'error' | 'warning' | 'info';
  source: string;
  message: string;
}
export interface Overview {
  time: number;
  sampleIntervalMs: number;
  lagIntervalMs: number;
  lagWindowSamples: number;
  throughput: ThroughputPoint | null;
  groups: GroupLagSummary[];
  failures: FailureEvent[];
  collector: { lastRoundAt: number | null; lastError: { time: number; message: string } | null };
}
export interface Tick {
  time: number;
  throughput: ThroughputPoint | null;
  groups: GroupLagSummary[];
}

export interface TopicSummary {
  name: string;
  internal: boolean;
  partitions: number;
  sizeBytes: number;
  records: number;
  config: Record<string, unknown>;
}
export interface PartitionInfo {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  sizeBytes: number;
  segments: number;
}
export interface TopicDetail {
  name: string;
  internal: boolean;
  config: Record<string, unknown>;
  partitions: PartitionInfo[];
  partitionCount: number;
  records: number;
  sizeBytes: number;
}
export interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}
export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
}
export interface GroupDescription extends GroupSummary {
  protocol: string;
  generationId: number;
  memberDetails: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: Array<{ topic: string; partition: number }> }>;
  offsets: Array<{ topic: string; partition: number; committedOffset: number | null; logEndOffset: number; lag: number | null }>;
  totalLag: number;
}
