/**
 * The in-process codec fuzz, run in a worker thread so the test can stop it if it ever hangs:
 * mutated and random request frames through `decodeRequest`, mutated response frames through
 * `decodeResponse`, and corrupted record batches / legacy message sets (with recomputed CRCs)
 * through the checks the broker runs on produce. Only ProtocolError and our other
 * TributaryError types may come out; anything else (RangeError, TypeError, …) is a finding.
 * Progress is posted every 500 cases so the parent can spot a stall.
 */
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { apiByKey } from '../../../src/kafka/protocol/apis.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/kafka/protocol/frames.ts';
import { isLegacyMessageSet, legacyToRecordBatch, parseLegacyMessageSet } from '../../../src/kafka/protocol/records/legacy-message-set.ts';
import { checkBatch, decodeBatchRecords, validateBatchRecords } from '../../../src/log/batch/record-batch.ts';
import { TributaryError } from '../../../src/util/errors.ts';
import { Rng, corruptRecords, fixtureFrames, mutateFrame, randomFrame, responseValue, servedVersions, traceRequest, validRequest, type FuzzWorld, type Traced } from './generators.ts';

export interface CodecFuzzConfig {
  seed: number;
  requests: number;
  responses: number;
  records: number;
  /** Findings kept in the report (default 50). */
  maxFindings?: number;
}

export interface CodecFinding {
  kind: 'request' | 'response' | 'records' | 'roundtrip';
  error: string;
  /** Hex of the input (first 2 KiB). */
  input: string;
  context: string;
}

export interface CodecFuzzReport {
  cases: { request: number; response: number; records: number };
  decoded: { request: number; response: number; records: number };
  errors: Record<string, number>;
  findings: CodecFinding[];
  maxCaseMs: number;
  ms: number;
}

const WORLD: FuzzWorld = { topics: ['fuzz-a', 'fuzz-b'], topicIds: ['5f0d1e8c-3a51-4f3e-9c61-2b1f6a7d9e10', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'] };

export function runCodecFuzz(cfg: CodecFuzzConfig): CodecFuzzReport {
  const rng = new Rng(cfg.seed);
  const report: CodecFuzzReport = { cases: { request: 0, response: 0, records: 0 }, decoded: { request: 0, response: 0, records: 0 }, errors: {}, findings: [], maxCaseMs: 0, ms: 0 };
  const started = performance.now();
  let done = 0;
  const tick = () => {
    done++;
    if (done % 500 === 0) parentPort?.postMessage({ progress: done });
  };
  const allowed = (err: unknown) => err instanceof TributaryError;
  const note = (err: unknown) => {
    const name = `${(err as Error).name}:${(err as { code?: string }).code ?? ''}`;
    report.errors[name] = (report.errors[name] ?? 0) + 1;
  };
  const finding = (kind: CodecFinding['kind'], err: unknown, input: Buffer, context: string) => {
    if (report.findings.length < (cfg.maxFindings ?? 50)) report.findings.push({ kind, error: (err as Error).stack ?? String(err), input: input.subarray(0, 2048).toString('hex'), context });
  };
  const timed = <T>(f: () => T): T => {
    const t = performance.now();
    try {
      return f();
    } finally {
      const ms = performance.now() - t;
      if (ms > report.maxCaseMs) report.maxCaseMs = ms;
    }
  };

  // Templates: a few valid requests and responses for every served API and version, plus the captured fixtures.
  const requests: Array<{ frame: Buffer; trace: Traced[] | null }> = [];
  const responses: Array<{ apiKey: number; version: number; frame: Buffer }> = [];
  for (const { api, version } of servedVersions()) {
    for (let i = 0; i < 3; i++) {
      const req = validRequest(rng, api, version, WORLD);
      const frame = encodeRequest(req.header, req.body).subarray(4);
      requests.push({ frame, trace: traceRequest(frame) });
      responses.push({ apiKey: api.apiKey, version, frame: encodeResponse(api.apiKey, version, rng.int(0x7fffffff), responseValue(rng, api, version, WORLD)).subarray(4) });
    }
  }
  for (const frame of fixtureFrames()) requests.push({ frame, trace: traceRequest(frame) });
  const donors = requests.map((r) => r.frame);

  // 1. Requests.
  for (let i = 0; i < cfg.requests; i++) {
    let input: Buffer;
    if (rng.chance(0.1)) input = randomFrame(rng);
    else {
      const t = rng.pick(requests);
      input = t.frame;
      const times = rng.range(1, 4);
      for (let m = 0; m < times; m++) input = mutateFrame(rng, input, m === 0 ? t.trace : null, donors);
    }
    report.cases.request++;
    let decoded: ReturnType<typeof decodeRequest> | undefined;
    try {
      decoded = timed(() => decodeRequest(input));
      report.decoded.request++;
    } catch (err) {
      note(err);
      if (!allowed(err)) finding('request', err, input, 'decodeRequest');
    }
    if (decoded) {
      // What decodes must encode again, and decode to the same value (the codec is stable).
      try {
        const again = decodeRequest(encodeRequest(decoded.header, decoded.body).subarray(4));
        if (!isDeepStrictEqual(again, decoded)) finding('roundtrip', new Error('decode(encode(decode(x))) differs from decode(x)'), input, JSON.stringify(decoded.header));
      } catch (err) {
        finding('roundtrip', err, input, `re-encoding a decoded ${apiByKey(decoded.header.apiKey)?.name} v${decoded.header.apiVersion}`);
      }
    }
    tick();
  }

  // 2. Responses (what a client-side decoder meets).
  for (let i = 0; i < cfg.responses; i++) {
    const t = rng.pick(responses);
    let input = t.frame;
    const times = rng.range(1, 3);
    for (let m = 0; m < times; m++) input = mutateFrame(rng, input, null, donors);
    report.cases.response++;
    try {
      timed(() => decodeResponse(t.apiKey, t.version, input));
      report.decoded.response++;
    } catch (err) {
      note(err);
      if (!allowed(err)) finding('response', err, input, `decodeResponse(${t.apiKey}, ${t.version})`);
    }
    tick();
  }

  // 3. Record batches and legacy message sets, as Produce hands them to the log.
  for (let i = 0; i < cfg.records; i++) {
    const input = corruptRecords(rng, rng.int(12));
    report.cases.records++;
    try {
      timed(() => {
        if (input.length > 16 && input[16] === 2) {
          const check = checkBatch(input, 0, input.length, 1 << 20);
          if (!check.ok) return;
          if (validateBatchRecords(input, 0) !== null) return;
          decodeBatchRecords(input, 0);
          report.decoded.records++;
        } else if (isLegacyMessageSet(input)) {
          parseLegacyMessageSet(input);
          legacyToRecordBatch(input, 1_750_000_000_000);
          report.decoded.records++;
        }
      });
    } catch (err) {
      note(err);
      if (!allowed(err)) finding('records', err, input, 'produce-side record checks');
    }
    tick();
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

if (parentPort && workerData) {
  try {
    parentPort.postMessage({ report: runCodecFuzz(workerData as CodecFuzzConfig) });
  } catch (err) {
    parentPort.postMessage({ error: (err as Error).stack ?? String(err) });
  }
}
