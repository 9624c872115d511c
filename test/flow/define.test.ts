import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineDag } from '../../src/flow/define/dag.ts';
import { sensors } from '../../src/flow/define/sensors.ts';
import { FlowError } from '../../src/flow/errors.ts';

function code(fn: () => unknown): FlowError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FlowError, `expected a FlowError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('defineDag', () => {
  it('builds tasks with data dependencies, ordering dependencies and a topological order', () => {
    const dag = defineDag({ id: 'etl', schedule: '@daily' }, (d) => {
      const load = d.task('load', { after: ['transform'] }, () => 1);
      const extract = d.task('extract', () => ({ rows: 3 }));
      const transform = d.task('transform', { inputs: { extract } }, (ctx, { extract }) => extract.rows * 2);
      void load;
      void transform;
    });
    assert.deepEqual([...dag.tasks.keys()], ['extract', 'transform', 'load']);
    assert.deepEqual(dag.tasks.get('transform')!.inputs, { extract: 'extract' });
    assert.deepEqual(dag.tasks.get('load')!.upstream, ['transform']);
    assert.deepEqual(dag.downstreamOf('extract'), ['transform', 'load']);
  });

  it('then/after/chain wire fan-out and fan-in', () => {
    const dag = defineDag({ id: 'fan' }, (d) => {
      const a = d.task('a', () => 1);
      const b = d.task('b', () => 1);
      const c = d.task('c', () => 1);
      const e = d.task('e', () => 1);
      a.then([b, c]);
      e.after(b, c);
      d.chain(e, d.task('f', () => 1));
    });
    assert.deepEqual(dag.tasks.get('e')!.upstream, ['b', 'c']);
    assert.deepEqual(dag.tasks.get('b')!.upstream, ['a']);
    assert.deepEqual(dag.tasks.get('f')!.upstream, ['e']);
  });

  it('a group is entered through its first tasks and left through its last ones', () => {
    const dag = defineDag({ id: 'groups' }, (d) => {
      const start = d.task('start', () => 1);
      const g = d.group('clean', (g) => {
        const x = g.task('dedupe', () => 1);
        const y = g.task('validate', () => 1);
        const z2 = g.task('stats', () => 1);
        x.then(y);
        void z2;
        g.group('inner', (h) => void h.task('deep', () => 1)).after(y);
      });
      start.then(g).then(d.task('end', () => 1));
    });
    assert.deepEqual(dag.tasks.get('clean.dedupe')!.upstream, ['start']);
    assert.deepEqual(dag.tasks.get('clean.stats')!.upstream, ['start']);
    assert.deepEqual(dag.tasks.get('clean.validate')!.upstream, ['clean.dedupe']);
    assert.deepEqual(dag.tasks.get('clean.inner.deep')!.upstream, ['clean.validate']);
    // Leaves of the group: stats and inner.deep (validate leads to inner.deep).
    assert.deepEqual(dag.tasks.get('end')!.upstream, ['clean.inner.deep', 'clean.stats']);
    assert.deepEqual(dag.groups, ['clean', 'clean.inner']);
  });

  it('rejects a cycle naming the tasks on it', () => {
    const e = code(() =>
      defineDag({ id: 'cyc' }, (d) => {
        const a = d.task('a', () => 1);
        const b = d.task('b', () => 1);
        const c = d.task('c', () => 1);
        d.task('side', () => 1);
        a.then(b).then(c).then(a);
      }),
    );
    assert.equal(e.code, 'DAG_CYCLE');
    assert.match(e.message, /dag cyc: dependency cycle/);
    assert.deepEqual([...e.tasks].sort(), ['a', 'b', 'c']);
    assert.match(e.message, /a → b → c → a|b → c → a → b|c → a → b → c/);
  });

  it('rejects a self-dependency and a group depending on its own member', () => {
    assert.equal(code(() => defineDag({ id: 's' }, (d) => void d.task('a', { after: 'a' }, () => 1))).code, 'DAG_CYCLE');
    const e = code(() =>
      defineDag({ id: 'g' }, (d) => {
        const g = d.group('g', (g) => void g.task('x', () => 1));
        g.after('g.x');
      }),
    );
    assert.equal(e.code, 'DAG_CYCLE');
    assert.match(e.message, /"g\.x" is inside group "g"/);
  });

  it('rejects unknown dependencies with a hint, and handles of another DAG', () => {
    const e = code(() => defineDag({ id: 'u' }, (d) => void d.task('load', { after: ['extrct'] }, () => 1).after(d.task('extract', () => 1))));
    assert.equal(e.code, 'DAG_UNKNOWN_DEPENDENCY');
    assert.match(e.message, /task "load" depends on "extrct", which is not a task or group of this DAG \(did you mean "extract"\?\)/);
    assert.deepEqual(e.tasks, ['load', 'extrct']);

    let foreign: unknown;
    defineDag({ id: 'other' }, (d) => void (foreign = d.task('x', () => 1)));
    const f = code(() => defineDag({ id: 'mine' }, (d) => void d.task('y', { inputs: { x: foreign as never } }, () => 1)));
    assert.equal(f.code, 'DAG_UNKNOWN_DEPENDENCY');
    assert.match(f.message, /task "y" depends on "x" that is not a task or group of this DAG/);
  });

  it('rejects duplicate ids, bad ids, bad policies, async definitions and empty DAGs', () => {
    assert.equal(code(() => defineDag({ id: 'd' }, (d) => void (d.task('a', () => 1), d.task('a', () => 2)))).code, 'DAG_DUPLICATE');
    assert.match(code(() => defineDag({ id: 'bad id' }, () => {})).message, /invalid DAG id "bad id"/);
    assert.match(code(() => defineDag({ id: 'd' }, (d) => void d.task('a.b', () => 1))).message, /invalid task id "a\.b"/);
    assert.match(code(() => defineDag({ id: 'd' }, (d) => void d.task('a', { retries: -1 }, () => 1))).message, /task "a": retries: expected a whole number ≥ 0, got -1/);
    assert.match(code(() => defineDag({ id: 'd' }, (d) => void d.task('a', { triggerRule: 'sometimes' as never }, () => 1))).message, /triggerRule: expected one of/);
    assert.match(code(() => defineDag({ id: 'd' }, (async () => {}) as never)).message, /must be synchronous/);
    assert.match(code(() => defineDag({ id: 'd' }, () => {})).message, /has no tasks/);
    assert.match(code(() => defineDag({ id: 'd', shedule: '@daily' } as never, () => {})).message, /unknown option "shedule" \(did you mean "schedule"\?\)/);
    assert.match(code(() => defineDag({ id: 'd' }, (d) => void d.group('g', () => {}))).message, /group "g" has no tasks/);
  });

  it('rejects invalid cron expressions and timezones when the DAG is defined', () => {
    const a = code(() => defineDag({ id: 'c', schedule: '61 * * * *' }, (d) => void d.task('a', () => 1)));
    assert.equal(a.code, 'SCHEDULE_INVALID');
    assert.match(a.message, /dag c: schedule: invalid cron expression "61 \* \* \* \*"/);
    assert.match(code(() => defineDag({ id: 'c', schedule: '* *' }, (d) => void d.task('a', () => 1))).message, /expected 5 fields/);
    assert.match(code(() => defineDag({ id: 'c', schedule: '@often' }, (d) => void d.task('a', () => 1))).message, /unknown cron nickname "@often"/);
    assert.match(code(() => defineDag({ id: 'c', schedule: '@daily', timezone: 'Mars/Base' }, (d) => void d.task('a', () => 1))).message, /unknown timezone "Mars\/Base"/);
  });

  it('map needs a task handle to map over; sensors need poke or a built-in', () => {
    assert.match(code(() => defineDag({ id: 'm' }, (d) => void d.map('m', { over: 'x' as never }, () => 1))).message, /"over" must be a task handle/);
    assert.match(code(() => defineDag({ id: 's' }, (d) => void d.sensor('s', {} as never))).message, /expected \{ poke/);
    const dag = defineDag({ id: 's2' }, (d) => void d.sensor('wait', sensors.file('/tmp/x'), { pokeIntervalMs: 5, maxWaitMs: 50 }));
    const t = dag.tasks.get('wait')!;
    assert.equal(t.host, 'host');
    assert.deepEqual(t.sensor, { pokeIntervalMs: 5, maxWaitMs: 50, softFail: false });
  });

  it('params from defaults: types follow the defaults, unknown names are refused with a hint', () => {
    const dag = defineDag({ id: 'p', params: { limit: 10, region: 'kr' } }, (d) => void d.task('a', (ctx) => ctx.params.limit + 1));
    assert.deepEqual(dag.resolveParams(undefined), { limit: 10, region: 'kr' });
    assert.deepEqual(dag.resolveParams({ limit: 3 }), { limit: 3, region: 'kr' });
    const e = code(() => dag.resolveParams({ limt: 3, region: 5 }));
    assert.equal(e.code, 'PARAMS_INVALID');
    assert.match(e.message, /unknown parameter "limt" \(did you mean "limit"\?\)/);
    assert.match(e.message, /region: expected string \(like the default "kr"\), got number 5/);
  });

  it('params from a zod schema, with field paths in errors', () => {
    const dag = defineDag({ id: 'z', params: z.object({ top: z.number().int().min(1).default(10) }) }, (d) => void d.task('a', (ctx) => ctx.params.top));
    assert.deepEqual(dag.resolveParams({}), { top: 10 });
    assert.deepEqual(dag.paramDefaults, { top: 10 });
    assert.match(code(() => dag.resolveParams({ top: 0 })).message, /params: top: /);
  });

  it('the shape is serializable and policies inherit DAG defaults', () => {
    const dag = defineDag({ id: 'sh', defaults: { retries: 2, pool: 'db' } }, (d) => {
      d.task('a', { retries: 5 }, () => 1);
      d.task('b', () => 1);
    });
    const shape = JSON.parse(JSON.stringify(dag.shape()));
    assert.equal(shape.tasks[0].policy.retries, 5);
    assert.equal(shape.tasks[1].policy.retries, 2);
    assert.equal(shape.tasks[1].policy.pool, 'db');
  });
});
