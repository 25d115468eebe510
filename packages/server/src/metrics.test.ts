import { describe, expect, it } from 'vitest';
import { Counter, createServerMetrics, Gauge, MetricsRegistry } from './metrics.js';

describe('metrics exposition', () => {
  it('writes HELP, TYPE and escaped samples in the Prometheus text format', () => {
    const registry = new MetricsRegistry();
    const counter = registry.register(new Counter('demo_events_total', 'Events,\nby "kind" \\ path.', ['kind', 'path']));
    counter.inc({ kind: 'a', path: 'x"y\\z\nw' });
    counter.inc({ kind: 'a', path: 'x"y\\z\nw' }, 2);
    counter.inc({ kind: 'b' });
    registry.register(new Counter('demo_plain_total', 'Never touched.'));
    let level = 7;
    registry.register(new Gauge('demo_level', 'A level.', ['side'], (set) => set({ side: 'left' }, level)));
    expect(registry.expose()).toBe(
      [
        '# HELP demo_events_total Events,\\nby "kind" \\\\ path.',
        '# TYPE demo_events_total counter',
        'demo_events_total{kind="a",path="x\\"y\\\\z\\nw"} 3',
        'demo_events_total{kind="b",path=""} 1',
        '# HELP demo_plain_total Never touched.',
        '# TYPE demo_plain_total counter',
        'demo_plain_total 0',
        '# HELP demo_level A level.',
        '# TYPE demo_level gauge',
        'demo_level{side="left"} 7',
        '',
      ].join('\n'),
    );
    level = 9;
    expect(registry.expose()).toContain('demo_level{side="left"} 9');
    expect(counter.get({ kind: 'a', path: 'x"y\\z\nw' })).toBe(3);
  });

  it('refuses bad names, a counter going down, and a name registered twice', () => {
    const registry = new MetricsRegistry();
    expect(() => new Counter('bad-name', 'x')).toThrow(/bad metric name/);
    expect(() => new Counter('ok_total', 'x', ['bad-label'])).toThrow(/bad label/);
    const counter = registry.register(new Counter('ok_total', 'x'));
    expect(() => counter.inc({}, -1)).toThrow(/cannot go down/);
    expect(() => registry.register(new Counter('ok_total', 'again'))).toThrow(/twice/);
  });

  it("every line of the server's registry is a comment or a well-formed sample", () => {
    const metrics = createServerMetrics();
    metrics.strikes.inc({ reason: 'bad_frame' });
    metrics.refused.inc({ stage: 'tcp', reason: 'banned' });
    const text = metrics.registry.expose();
    metrics.stop();
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_:][a-z0-9_:]* .+|[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"\n]*",?)+\})? -?[0-9.e+-]+)$/);
    }
    expect(text).toContain('parley_strikes_total{reason="bad_frame"} 1');
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });
});
