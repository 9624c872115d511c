/** Prometheus metrics of the Kafka listener (no-ops without a registry). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface KafkaMetrics {
  request(api: string, seconds: number, bytesIn: number, bytesOut: number): void;
  connectionOpened(): void;
  connectionClosed(reason: 'client' | 'protocol_error'): void;
}

export const noopKafkaMetrics: KafkaMetrics = { request() {}, connectionOpened() {}, connectionClosed() {} };

export function createKafkaMetrics(registry: Registry): KafkaMetrics {
  const requests = new Counter({ name: 'tributary_kafka_requests_total', help: 'Kafka protocol requests handled', labelNames: ['api'], registers: [registry] });
  const duration = new Histogram({
    name: 'tributary_kafka_request_duration_seconds',
    help: 'Time from a request frame arriving to its response being ready (includes fsync waits and long polls)',
    labelNames: ['api'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const received = new Counter({ name: 'tributary_kafka_received_bytes_total', help: 'Bytes of Kafka request frames', registers: [registry] });
  const sent = new Counter({ name: 'tributary_kafka_sent_bytes_total', help: 'Bytes of Kafka response frames', registers: [registry] });
  const open = new Gauge({ name: 'tributary_kafka_connections', help: 'Open Kafka client connections', registers: [registry] });
  const closed = new Counter({ name: 'tributary_kafka_connections_closed_total', help: 'Kafka connections closed, by reason', labelNames: ['reason'], registers: [registry] });
  return {
    request(api, seconds, bytesIn, bytesOut) {
      requests.inc({ api });
      duration.observe({ api }, seconds);
      received.inc(bytesIn);
      sent.inc(bytesOut);
    },
    connectionOpened() {
      open.inc();
    },
    connectionClosed(reason) {
      open.dec();
      closed.inc({ reason });
    },
  };
}
