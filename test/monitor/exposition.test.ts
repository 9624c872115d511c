import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { counter, createMetricsRegistry, gauge, histogram } from '../../src/monitor/metrics.ts';
import { ExpositionParseError, parseExposition, sumSamples } from '../../src/monitor/exposition.ts';

describe('Prometheus text-format parser', () => {
  it('parses what prom-client writes, including escapes, histograms and default metrics', async () => {
    const registry = createMetricsRegistry();
    counter(registry, { name: 'tributary_t_records_total', help: 'Records with a "quote" and a \\ backslash\nand a newline.', labelNames: ['topic'] }).inc(
      { topic: 'we"ird\\to\npic' },
      7,
    );
    gauge(registry, { name: 'tributary_t_open', help: 'Open.' }).set(-2.5);
    const h = histogram(registry, { name: 'tributary_t_duration_seconds', help: 'D.', labelNames: ['api'], buckets: [0.1, 1] });
    h.observe({ api: 'fetch' }, 0.05);
    h.observe({ api: 'fetch' }, 0.5);
    h.observe({ api: 'fetch' }, 5);
    const families = parseExposition(await registry.metrics());

    const c = families.get('tributary_t_records_total')!;
    assert.equal(c.type, 'counter');
    assert.equal(c.help, 'Records with a "quote" and a \\ backslash\nand a newline.');
    assert.deepEqual(c.samples, [{ name: 'tributary_t_records_total', labels: { topic: 'we"ird\\to\npic' }, value: 7 }]);
    assert.equal(families.get('tributary_t_open')!.samples[0]!.value, -2.5);

    const d = families.get('tributary_t_duration_seconds')!;
    assert.equal(d.type, 'histogram');
    const buckets = d.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => [s.labels['le'], s.value]);
    assert.deepEqual(buckets, [['0.1', 1], ['1', 2], ['+Inf', 3]]);
    assert.equal(sumSamples(families, 'tributary_t_duration_seconds', { api: 'fetch' }, 'tributary_t_duration_seconds_count'), 3);
    assert.ok(families.has('process_cpu_seconds_total'));
    assert.ok(families.has('nodejs_eventloop_lag_seconds'));

    // A second, independent parser agrees on every family and type.
    const other = parsePrometheusTextFormat(await registry.metrics());
    assert.deepEqual(
      other.map((f) => [f.name, f.type.toLowerCase()]).sort(),
      [...families.values()].map((f) => [f.name, f.type]).sort(),
    );
  });

  it('reads special values and timestamps', () => {
    const f = parseExposition('# TYPE g gauge\ng{a="1"} NaN\ng{a="2"} +Inf 1700000000000\ng{a="3"} -Inf\ng{a="4"} 1.5e3\n');
    const v = f.get('g')!.samples;
    assert.ok(Number.isNaN(v[0]!.value));
    assert.equal(v[1]!.value, Infinity);
    assert.equal(v[1]!.timestamp, 1700000000000);
    assert.equal(v[2]!.value, -Infinity);
    assert.equal(v[3]!.value, 1500);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['bad metric name', '1abc 3\n', /invalid metric name/],
    ['unquoted label value', 'm{a=b} 1\n', /double quotes/],
    ['bad escape', 'm{a="\\t"} 1\n', /invalid escape/],
    ['duplicate label', 'm{a="1",a="2"} 1\n', /appears twice/],
    ['unterminated label value', 'm{a="1} 1\n', /unterminated|expected/],
    ['value that is not a number', 'm 12abc\n', /invalid sample value/],
    ['missing value', 'm{a="1"}\n', /expected/],
    ['TYPE after samples', 'm 1\n# TYPE m gauge\n', /after its samples/],
    ['two TYPE lines', '# TYPE m gauge\n# TYPE m gauge\n', /second TYPE/],
    ['unknown type', '# TYPE m thing\n', /unknown type/],
    ['duplicate series', 'm{a="1"} 1\nm{a="1"} 2\n', /duplicate series/],
    ['family split in two', 'a 1\nb 1\na{x="1"} 2\n', /not together/],
    ['negative counter', '# TYPE c_total counter\nc_total -1\n', /negative/],
    ['bucket without le', '# TYPE h histogram\nh_bucket 1\n', /no "le"/],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_count 3\n', /not cumulative/],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n', /\+Inf/],
    ['+Inf differs from count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n', /≠ _count/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parseExposition(text), (err: unknown) => err instanceof ExpositionParseError && message.test(err.message));
    });
  }

  it('accepts comments, blank lines, trailing commas in labels and untyped samples', () => {
    const f = parseExposition('# just a comment\n\nm{a="1",} 2\n');
    assert.deepEqual(f.get('m')!.samples[0], { name: 'm', labels: { a: '1' }, value: 2 });
    assert.equal(f.get('m')!.type, 'untyped');
  });
});
