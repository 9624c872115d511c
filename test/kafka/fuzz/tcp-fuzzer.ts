/**
 * The client side of the TCP fuzz suite, run in a worker thread (so the broker has the main
 * thread to itself): many concurrent connections, each sending an optional prefix of valid
 * requests (answered and checked before anything else is sent) and then one to three fuzz
 * frames, checked against the model of the broker (`modelStream`). Reports statistics and every
 * oracle violation, with the bytes sent, to the parent.
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { APIS, ApiKey } from '../../../src/kafka/protocol/apis.ts';
import {
  Rng,
  corruptRecords,
  decodeResponseExactly,
  encodeRequest,
  fixtureFrames,
  modelStream,
  mutateFrame,
  randomFrame,
  pickApiVersion,
  sizePrefix,
  traceRequest,
  validRequest,
  type FuzzWorld,
  type ModelFrame,
  type Traced,
} from './generators.ts';

export interface FuzzerConfig {
  port: number;
  seed: number;
  frames: number;
  concurrency: number;
  world: FuzzWorld;
  maxFrameBytes: number;
  closeBoundMs: number;
}

export interface Violation {
  what: string;
  /** Hex of the bytes sent on the connection (first 4 KiB). */
  stream: string;
  model: string;
}

export interface FuzzerReport {
  sessions: number;
  /** Frames (as the broker splits the stream) that came from fuzz units; the target count. */
  fuzzFrames: number;
  /** Unmutated valid requests sent as connection prefixes. */
  validPrefixFrames: number;
  answered: number;
  closedByBroker: number;
  incomplete: number;
  parked: number;
  byOutcome: Record<string, number>;
  byReason: Array<[string, number]>;
  byApi: Record<string, number>;
  violations: Violation[];
  ms: number;
  /** The fuzzing thread's own worst event-loop delay (a stalled client would misjudge timeouts). */
  clientLoopMaxMs: number;
}

/** A frame allowed to take longer than this (long poll, rebalance) may be abandoned by the client. */
const LONG_WAIT_MS = 2_000;
const PARK_MS = 1_000;

interface Template {
  frame: Buffer;
  trace: Traced[] | null;
}

interface Session {
  stream: Buffer;
  /** Byte offsets after which the client waits for the answers so far before writing on. */
  phases: number[];
  prefixBytes: number;
}

/** One fuzz unit: a size-prefixed frame — mutated valid request, mutated fixture, corrupt records, or random. */
function fuzzUnit(rng: Rng, cfg: FuzzerConfig, fixtures: Template[], donors: Buffer[]): Buffer {
  let frame: Buffer;
  const roll = rng.next();
  if (roll < 0.4) {
    const { api, version } = pickApiVersion(rng);
    const req = validRequest(rng, api, version, cfg.world);
    const valid = encodeRequest(req.header, req.body).subarray(4);
    frame = valid;
    if (rng.chance(0.85)) {
      const trace = traceRequest(valid);
      const times = rng.range(1, 3);
      for (let m = 0; m < times; m++) frame = mutateFrame(rng, frame, m === 0 ? trace : null, donors);
    }
  } else if (roll < 0.65) {
    const t = rng.pick(fixtures);
    frame = t.frame;
    if (rng.chance(0.9)) {
      const times = rng.range(1, 3);
      for (let m = 0; m < times; m++) frame = mutateFrame(rng, frame, m === 0 ? t.trace : null, donors);
    }
  } else if (roll < 0.75) {
    // A well-formed Produce whose records are corrupt behind a valid CRC.
    const produce = APIS.find((a) => a.apiKey === ApiKey.Produce)!;
    const version = rng.range(produce.min, produce.max);
    const req = validRequest(rng, produce, version, cfg.world);
    req.body.acks = rng.chance(0.5) ? -1 : 1;
    (req.body.topicData as Array<{ partitionData: Array<{ records: Buffer }> }>)[0]!.partitionData[0]!.records = corruptRecords(rng, version);
    frame = encodeRequest(req.header, req.body).subarray(4);
  } else {
    frame = randomFrame(rng);
  }
  return Buffer.concat([sizePrefix(rng, frame, rng.chance(0.12), cfg.maxFrameBytes), frame]);
}

/**
 * Topic creation with many partitions is legal but slow (seconds for thousands), and deleting
 * such a topic stalls the broker (see findings.test.ts): a run of the suite skips frames that
 * ask for more than 64 partitions, unless FUZZ_BIG_TOPICS=1.
 */
const BIG_TOPICS = process.env.FUZZ_BIG_TOPICS === '1';
const heavy = (f: ModelFrame) => !BIG_TOPICS && (f.partitions ?? 0) > 64;

/**
 * A connection's bytes: maybe a prefix of valid requests (written first; the client waits for
 * their answers), then fuzz units. Units the broker answers (per the model) keep the connection
 * open, so a few of them (0-6) are pipelined next (and answered); the session ends with one more
 * unit, usually one that makes the broker close the connection (or leaves a frame incomplete, or
 * parks a long poll). Units generated along the way that would have closed early are dropped.
 */
function buildSession(rng: Rng, cfg: FuzzerConfig, fixtures: Template[], donors: Buffer[]): Session {
  const units: Buffer[] = [];
  const prefixCount = rng.chance(0.15) ? rng.range(1, 2) : 0;
  for (let i = 0; i < prefixCount; i++) {
    const { api, version } = pickApiVersion(rng, [ApiKey.SaslAuthenticate]);
    const req = validRequest(rng, api, version, cfg.world);
    units.push(encodeRequest(req.header, req.body));
  }
  const prefixBytes = units.reduce((s, u) => s + u.length, 0);
  const quota = rng.range(0, 6);
  let survivors = 0;
  let closer: Buffer | null = null;
  for (let tries = 0; tries < 30 && survivors < quota; tries++) {
    const unit = fuzzUnit(rng, cfg, fixtures, donors);
    const m = modelStream(unit, cfg.maxFrameBytes);
    if (m.frames.some(heavy)) continue;
    if (m.end === 'open' && !m.frames.some((f) => f.mayWaitMs > LONG_WAIT_MS)) {
      units.push(unit);
      survivors++;
    } else closer ??= unit;
  }
  while (closer === null) {
    const unit = fuzzUnit(rng, cfg, fixtures, donors);
    if (!modelStream(unit, cfg.maxFrameBytes).frames.some(heavy)) closer = unit;
  }
  const survivorBytes = units.reduce((s, u) => s + u.length, 0);
  units.push(closer);
  const stream = Buffer.concat(units);
  // Phases: the valid prefix, the surviving fuzz frames (answered before anything else is sent, so
  // their answers are checked too — a closing frame would make the broker drop them), the closer.
  const phases = [prefixBytes, survivorBytes, stream.length].filter((p, i, all) => p > 0 && all.indexOf(p) === i);
  return { stream, phases, prefixBytes };
}

function runSession(cfg: FuzzerConfig, s: Session, rng: Rng, report: FuzzerReport, reasons: Map<string, number>): Promise<void> {
  const model = modelStream(s.stream, cfg.maxFrameBytes);
  const last = model.frames.at(-1);
  const sentBytes = model.end === 'closed' ? last!.end : s.stream.length;
  const sent = s.stream.subarray(0, sentBytes);
  const phases = s.phases.map((p) => Math.min(p, sentBytes)).filter((p, i, all) => p > 0 && all.indexOf(p) === i);
  const answers = (f: ModelFrame) => f.outcome === 'answer' || f.outcome === 'answer-v0' || f.outcome === 'answer-then-close';
  const expected = model.frames.filter(answers);
  const mustAnswerAll = model.end === 'open' || last?.outcome === 'answer-then-close';
  const longFrame = model.frames.findIndex((f) => answers(f) && f.mayWaitMs > LONG_WAIT_MS);
  const longIndex = longFrame >= 0 ? expected.indexOf(model.frames[longFrame]!) : -1;
  const finiteWait = model.frames.reduce((sum, f) => sum + (f.mayWaitMs <= LONG_WAIT_MS ? f.mayWaitMs : 0), 0);

  report.sessions++;
  let frameStart = 0;
  for (const f of model.frames) {
    if (frameStart >= s.prefixBytes) report.fuzzFrames++;
    else report.validPrefixFrames++;
    frameStart = f.end;
    report.byOutcome[f.outcome] = (report.byOutcome[f.outcome] ?? 0) + 1;
    if (f.apiKey >= 0) {
      const api = APIS.find((a) => a.apiKey === f.apiKey)?.name ?? 'unknown';
      report.byApi[api] = (report.byApi[api] ?? 0) + 1;
    }
    const why = f.why.replace(/-?\d+/g, 'N').slice(0, 70);
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  if (model.end === 'incomplete') {
    report.fuzzFrames++;
    report.incomplete++;
  }

  const describe = () => model.frames.map((f) => `${f.outcome}:${f.apiKey}v${f.apiVersion}#${f.correlationId}(${f.why.slice(0, 80)})`).join(' ') + ` end=${model.end}`;
  const t0 = Date.now();
  const fail = (what: string) => report.violations.push({ what: `${what} [after ${Date.now() - t0} ms]`, stream: sent.subarray(0, 4096).toString('hex'), model: describe() });

  return new Promise<void>((resolve) => {
    const socket: Socket = connect(cfg.port, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    let got = 0;
    let written = 0;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (how: 'closed' | 'done' | 'timeout') => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (how === 'timeout') {
        // Long polls and rebalances may outlast the bound: every frame before them must be answered.
        if (longFrame >= 0 && got >= longIndex) report.parked++;
        else {
          fail(
            `no answer/close within the bound: ${got}/${expected.length} answers, expected the connection to end ${model.end}` +
              ` (written ${written}/${sent.length}, socket bytesWritten ${socket.bytesWritten}, readyState ${socket.readyState}, local port ${socket.localPort})`,
          );
        }
      } else if (how === 'closed') {
        if (mustAnswerAll && got < expected.length) fail(`broker closed the connection after ${got}/${expected.length} answers to decodable requests`);
        else if (written < sent.length && !model.frames.some((f) => f.end <= written && (f.outcome === 'close' || f.outcome === 'answer-then-close'))) {
          fail(`broker closed the connection after ${written} bytes, before any malformed frame`);
        }
        if (model.end === 'closed') report.closedByBroker++;
      }
      socket.destroy();
      resolve();
    };
    const armTimer = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish('timeout'), ms);
    };
    /** Answers due once `offset` bytes are written (frames that end there, except long waits). */
    const dueAt = (offset: number) => model.frames.filter((f) => f.end <= offset && answers(f)).length;
    let dribbling = false;
    const writePhase = () => {
      const to = phases.shift()!;
      const chunk = sent.subarray(written, to);
      written = to;
      const isLast = phases.length === 0;
      const done = () => {
        if (isLast && model.end === 'incomplete') socket.end();
        armTimer(cfg.closeBoundMs + finiteWait);
        maybeAdvance();
      };
      if (rng.chance(0.2) && chunk.length > 1) {
        // Dribble the bytes in two pieces, so frames and size prefixes straddle reads.
        const cut = 1 + rng.int(chunk.length - 1);
        socket.write(chunk.subarray(0, cut));
        dribbling = true;
        setImmediate(() => {
          dribbling = false;
          if (finished) return;
          socket.write(chunk.subarray(cut));
          done();
        });
      } else {
        socket.write(chunk);
        done();
      }
    };
    let parking = false;
    const maybeAdvance = () => {
      if (finished || dribbling) return;
      if (phases.length > 0) {
        if (got >= dueAt(written)) writePhase();
        return;
      }
      if (model.end === 'open' && got >= expected.length) return finish('done');
      // Everything before a long poll is answered: give the long poll a short while, then leave it.
      if (longFrame >= 0 && !parking && got >= longIndex) {
        parking = true;
        armTimer(PARK_MS);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const size = buf.readInt32BE(0);
        if (size < 0) {
          fail(`response with negative size ${size}`);
          return finish('done');
        }
        if (buf.length < 4 + size) break;
        const frame = buf.subarray(4, 4 + size);
        buf = buf.subarray(4 + size);
        const want = expected[got];
        if (!want) {
          fail(`unexpected response #${got + 1} (${frame.subarray(0, 16).toString('hex')})`);
          return finish('done');
        }
        got++;
        report.answered++;
        try {
          const version = want.outcome === 'answer-v0' ? 0 : want.apiVersion;
          const res = decodeResponseExactly(want.apiKey, version, frame);
          if (res.correlationId !== want.correlationId) fail(`response correlation id ${res.correlationId}, expected ${want.correlationId}`);
          if (want.outcome === 'answer-v0' && res.body.errorCode !== 35) fail(`ApiVersions v${want.apiVersion} answered with error ${String(res.body.errorCode)}, expected 35`);
        } catch (err) {
          fail(`response to ${want.apiKey}v${want.apiVersion} does not decode: ${(err as Error).message} (${frame.subarray(0, 64).toString('hex')})`);
        }
      }
      maybeAdvance();
    });
    socket.on('error', () => {});
    socket.on('close', () => finish('closed'));
    socket.on('connect', writePhase);
  });
}

async function main(cfg: FuzzerConfig): Promise<FuzzerReport> {
  const fixtures: Template[] = fixtureFrames().map((frame) => ({ frame, trace: traceRequest(frame) }));
  const donors = fixtures.map((f) => f.frame);
  const root = new Rng(cfg.seed);
  const report: FuzzerReport = {
    sessions: 0,
    fuzzFrames: 0,
    validPrefixFrames: 0,
    answered: 0,
    closedByBroker: 0,
    incomplete: 0,
    parked: 0,
    byOutcome: {},
    byReason: [],
    byApi: {},
    violations: [],
    ms: 0,
    clientLoopMaxMs: 0,
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const reasons = new Map<string, number>();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: cfg.concurrency }, async () => {
      const rng = root.fork();
      while (report.fuzzFrames < cfg.frames && report.violations.length < 20) {
        await runSession(cfg, buildSession(rng, cfg, fixtures, donors), rng, report, reasons);
      }
    }),
  );
  report.ms = Date.now() - started;
  loop.disable();
  report.clientLoopMaxMs = Math.round(loop.max / 1e6);
  report.byReason = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return report;
}

if (parentPort && workerData) {
  main(workerData as FuzzerConfig).then(
    (report) => parentPort!.postMessage({ report }),
    (err: unknown) => parentPort!.postMessage({ error: (err as Error).stack ?? String(err) }),
  );
}
