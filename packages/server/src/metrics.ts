/**
 * @module Counters and gauges served at `/metrics` in the Prometheus text exposition format
 * (version 0.0.4). Hand-written rather than `prom-client`: Parley needs two metric types, no
 * histograms, and one registry, which is a hundred lines with no dependency (STYLE §12).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Metric {
  readonly name: string;
  expose(): string;
}

/** Label values escape backslash, double quote and newline; HELP text escapes backslash and newline. */
const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`).join(',')}}`;
}

abstract class LabelledMetric<L extends string> implements Metric {
  protected readonly values = new Map<string, { labels: string[]; value: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: 'counter' | 'gauge',
    private readonly labelNames: readonly L[],
  ) {
    if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
    for (const label of labelNames) if (!LABEL.test(label)) throw new Error(`bad label name ${label} on ${name}`);
  }

  protected entry(labels: Partial<Record<L, string>>): { labels: string[]; value: number } {
    const values = this.labelNames.map((name) => labels[name] ?? '');
    const key = values.join('\u0000');
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels: values, value: 0 };
      this.values.set(key, entry);
    }
    return entry;
  }

  /** The current value for these labels (0 if never touched). */
  get(labels: Partial<Record<L, string>> = {}): number {
    return this.values.get(this.labelNames.map((name) => labels[name] ?? '').join('\u0000'))?.value ?? 0;
  }

  protected samples(): { labels: string[]; value: number }[] {
    return [...this.values.values()];
  }

  expose(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    const samples = this.samples();
    if (samples.length === 0 && this.labelNames.length === 0) samples.push({ labels: [], value: 0 });
    for (const sample of samples) lines.push(`${this.name}${formatLabels(this.labelNames, sample.labels)} ${formatValue(sample.value)}`);
    return lines.join('\n');
  }
}

/** A value that only goes up. Names end in `_total` by convention. */
export class Counter<L extends string = never> extends LabelledMetric<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, 'counter', labelNames);
  }

  inc(labels: Partial<Record<L, string>> = {}, amount = 1): void {
    if (amount < 0) throw new Error(`counter ${this.name} cannot go down`);
    this.entry(labels).value += amount;
  }
}

/** A value that goes up and down; `collect`, if given, is read at every scrape. */
export class Gauge<L extends string = never> extends LabelledMetric<L> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    private readonly collect?: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void,
  ) {
    super(name, help, 'gauge', labelNames);
  }

  set(labels: Partial<Record<L, string>>, value: number): void {
    this.entry(labels).value = value;
  }

  protected override samples(): { labels: string[]; value: number }[] {
    this.collect?.((labels, value) => this.set(labels, value));
    return super.samples();
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  /** The whole registry in the text format, one family after another, ending with a newline. */
  expose(): string {
    return `${[...this.metrics.values()].map((metric) => metric.expose()).join('\n')}\n`;
  }
}

/**
 * Everything the server counts. Labels have small, fixed value sets (reasons, ops, error
 * codes, contexts): never an address or a username, so series stay few.
 */
export function createServerMetrics() {
  const registry = new MetricsRegistry();
  const eventLoop = monitorEventLoopDelay({ resolution: 20 });
  eventLoop.enable();
  const startedAt = Date.now() / 1000;
  const metrics = {
    registry,
    /** TCP connections turned away before any TLS or HTTP work, or WebSocket upgrades refused. */
    refused: registry.register(new Counter('parley_connections_refused_total', 'Connections refused at accept or upgrade, by reason (banned, too_many_connections).', ['stage', 'reason'])),
    /** Connections the server closed, by reason: deadlines, slow readers, dead peers, bad input, bans. */
    closed: registry.register(new Counter('parley_connections_closed_total', 'Connections closed by the server, by reason.', ['reason'])),
    strikes: registry.register(new Counter('parley_strikes_total', 'Strikes counted against client addresses, by reason.', ['reason'])),
    bans: registry.register(new Counter('parley_bans_total', 'Addresses banned after too many strikes.')),
    requests: registry.register(new Counter('parley_requests_total', 'Requests handled, by op.', ['op'])),
    errors: registry.register(new Counter('parley_request_errors_total', 'Error replies, by code (RATE_LIMITED, POW_REQUIRED, BAD_FRAME, ...).', ['code'])),
    rateLimited: registry.register(new Counter('parley_rate_limited_total', 'Requests refused with RATE_LIMITED, by limit (connection, account, keys.claim).', ['scope'])),
    powChallenges: registry.register(new Counter('parley_pow_challenges_total', 'Proof-of-work challenges issued, by context.', ['context'])),
    powVerdicts: registry.register(new Counter('parley_pow_verdicts_total', 'Proof-of-work checks, by context and result (ok, missing, expired, replayed, bad-mac, insufficient, wrong-context).', ['context', 'result'])),
    /** Stops sampling the event loop (at shutdown). */
    stop: () => eventLoop.disable(),
  };
  registry.register(
    new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [], (set) => set({}, process.memoryUsage.rss())),
  );
  registry.register(new Gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', [], (set) => set({}, process.memoryUsage().heapUsed)));
  registry.register(new Gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', [], (set) => set({}, startedAt)));
  registry.register(
    new Gauge('nodejs_eventloop_delay_p99_seconds', 'Event loop delay, 99th percentile since the last scrape, in seconds.', [], (set) => {
      set({}, eventLoop.percentile(99) / 1e9);
      eventLoop.reset();
    }),
  );
  return metrics;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
