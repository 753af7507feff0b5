import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Consumer } from '../consumers/consumer.ts';

/** The service's Prometheus metrics, in a registry of its own (two services in one process do not collide). */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** Records one append of `events` that took `seconds`. */
  appended(events: number, seconds: number): void;
  /** Records one answered request. */
  request(method: string, route: string, status: number): void;
}

/** Creates the metrics; consumer lag is read from `consumers` when scraped. */
export function createServiceMetrics(consumers: ReadonlyMap<string, Consumer>): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'unilog_process_' });
  const appends = new Counter({ name: 'unilog_appended_events_total', help: 'Events appended to the log through the service.', registers: [registry] });
  const appendLatency = new Histogram({
    name: 'unilog_append_duration_seconds',
    help: 'Time from a group of events handed to the log until it was durable.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const requests = new Counter({ name: 'unilog_http_requests_total', help: 'HTTP requests answered, by method, route and status.', labelNames: ['method', 'route', 'status'], registers: [registry] });
  new Gauge({
    name: 'unilog_consumer_lag_events',
    help: 'Events in the log a consumer has not processed yet.',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [name, consumer] of consumers) this.set({ consumer: name }, (await consumer.status()).lagEvents);
    },
  });
  new Gauge({
    name: 'unilog_consumer_dead_letters',
    help: 'Dead letters a consumer holds.',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [name, consumer] of consumers) this.set({ consumer: name }, (await consumer.status()).deadLetters);
    },
  });
  return {
    registry,
    appended(events, seconds) {
      appends.inc(events);
      appendLatency.observe(seconds);
    },
    request(method, route, status) {
      requests.inc({ method, route, status: String(status) });
    },
  };
}
