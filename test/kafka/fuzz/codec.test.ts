/**
 * Pure codec fuzz, no broker: FUZZ_FRAMES (default 100,000) mutated and random
 * request frames through `decodeRequest` — it may only throw ProtocolError (or another
 * TributaryError), never RangeError/TypeError, and whatever decodes must re-encode and decode
 * to the same value — plus mutated responses through `decodeResponse` and corrupted record
 * batches / legacy message sets (valid CRCs) through the produce-side checks. Runs in a worker
 * thread watched for progress: a decoder that hangs fails the test instead of stalling it.
 * Reproduce with FUZZ_SEED=<the seed in the diagnostics and failure messages>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framesFromEnv, seedFromEnv, startTsWorker } from './generators.ts';
import type { CodecFinding, CodecFuzzConfig, CodecFuzzReport } from './codec-fuzzer.ts';

const FRAMES = framesFromEnv(100_000);
const SEED = seedFromEnv();
/** No progress for this long means a decoder is stuck. */
const STALL_MS = 10_000;

function runCodecFuzz(cfg: CodecFuzzConfig): Promise<CodecFuzzReport> {
  const worker = startTsWorker(new URL('./codec-fuzzer.ts', import.meta.url), cfg);
  return new Promise((resolve, reject) => {
    let progress = 0;
    let lastProgressAt = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgressAt > STALL_MS) {
        clearInterval(watchdog);
        void worker.terminate();
        reject(new Error(`the codec fuzz made no progress for ${STALL_MS} ms after ${progress} cases (seed ${cfg.seed}): a decoder hangs`));
      }
    }, 500);
    worker.on('message', (m: { progress?: number; report?: CodecFuzzReport; error?: string }) => {
      if (m.progress !== undefined) {
        progress = m.progress;
        lastProgressAt = Date.now();
        return;
      }
      clearInterval(watchdog);
      void worker.terminate();
      if (m.report) resolve(m.report);
      else reject(new Error(`the codec fuzz failed: ${m.error}`));
    });
    worker.once('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
  });
}

const run = runCodecFuzz({ seed: SEED, requests: FRAMES, responses: Math.ceil(FRAMES / 4), records: Math.ceil(FRAMES / 4) });
const findings = async (kind: CodecFinding['kind']) => (await run).findings.filter((f) => f.kind === kind).slice(0, 5);

test(`codec fuzz: ${FRAMES} mutated and random request frames decode or throw ProtocolError, never anything else, never hang`, { timeout: 120_000 }, async (t) => {
  const report = await run;
  t.diagnostic(`seed ${SEED}: ${JSON.stringify(report.cases)} cases in ${report.ms} ms; decoded ${JSON.stringify(report.decoded)}; slowest case ${report.maxCaseMs.toFixed(1)} ms`);
  t.diagnostic(`errors thrown: ${JSON.stringify(report.errors)}`);
  assert.deepEqual(await findings('request'), [], `decodeRequest threw something other than ProtocolError (FUZZ_SEED=${SEED})`);
  assert.equal(report.cases.request, FRAMES);
  assert.ok(report.decoded.request > 0 && report.decoded.request < FRAMES, 'some mutated frames still decode, most do not');
  assert.ok(report.maxCaseMs < 1_000, `one case took ${report.maxCaseMs} ms`);
});

test('codec fuzz: mutated response frames decode or throw ProtocolError', async () => {
  assert.deepEqual(await findings('response'), [], `decodeResponse threw something other than ProtocolError (FUZZ_SEED=${SEED})`);
});

test('codec fuzz: corrupt record batches and legacy message sets (valid CRCs) are rejected with our errors only', async () => {
  assert.deepEqual(await findings('records'), [], `the produce-side record checks threw something other than a TributaryError (FUZZ_SEED=${SEED})`);
});

test('codec fuzz: whatever decodes re-encodes, and decodes again to the same value', async () => {
  assert.deepEqual(await findings('roundtrip'), [], `decode → encode → decode is not stable (FUZZ_SEED=${SEED}); see findings.test.ts`);
});
