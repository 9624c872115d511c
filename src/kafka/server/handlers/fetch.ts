/**
 * Fetch with long polling: answers at once when at least `minBytes` are available, else waits
 * (up to `maxWaitMs`) for any requested partition to grow. Returns whole stored batches, the
 * first of which holds the fetch offset (KIP-74: the first batch always goes out, even when it
 * is larger than the limits, so a consumer can always progress). Fetch sessions (KIP-227) are
 * declined by answering session id 0, which clients handle by sending full fetches.
 */
import { LogError } from '../../../log/errors.ts';
import type { Message } from '../../protocol/codec.ts';
import { ZERO_UUID } from '../../protocol/buffers.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf } from '../kafka-errors.ts';

interface FetchPartition {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

interface FetchTopic {
  topic: string;
  topicId: string;
  partitions: FetchPartition[];
}

interface Target {
  topic: string | null;
  topicId: string;
  partition: FetchPartition;
  errorCode: number;
}

const EMPTY = Buffer.alloc(0);

export async function fetch(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const version = req.header.apiVersion;
  const maxWaitMs = Math.max(0, body.maxWaitMs as number);
  const minBytes = body.minBytes as number;
  const maxBytes = version >= 3 ? (body.maxBytes as number) : 0x7fffffff;
  const readCommitted = (body.isolationLevel as number) === 1;
  const targets = resolveTargets(broker, req, body.topics as FetchTopic[], version);

  let result = readAll(broker, targets, maxBytes, readCommitted);
  if (result.bytes < minBytes && maxWaitMs > 0 && !req.signal.aborted) {
    await waitForAny(broker, targets, maxWaitMs, req.signal);
    result = readAll(broker, targets, maxBytes, readCommitted);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: result.responses };
}

function resolveTargets(broker: BrokerContext, req: RequestContext, topics: FetchTopic[], version: number): Target[] {
  const { log } = broker;
  const out: Target[] = [];
  for (const t of topics) {
    let name: string | null = version >= 13 ? (log.topicNameById(t.topicId) ?? null) : t.topic;
    let code: number = ErrorCode.NONE;
    if (name === null) code = ErrorCode.UNKNOWN_TOPIC_ID;
    else if (!log.hasTopic(name)) code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    else if (!allowed(broker, req, 'read', 'topic', name)) code = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    if (code !== ErrorCode.NONE && version < 13) name = t.topic;
    for (const p of t.partitions) {
      let pcode = code;
      if (pcode === ErrorCode.NONE && (p.partition < 0 || p.partition >= log.partitionCount(name!))) pcode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      out.push({ topic: name, topicId: version >= 13 ? t.topicId : ZERO_UUID, partition: p, errorCode: pcode });
    }
  }
  return out;
}

function readAll(broker: BrokerContext, targets: Target[], maxBytes: number, readCommitted: boolean): { responses: Message[]; bytes: number } {
  const byTopic = new Map<string, Message[]>();
  const topicOrder: Array<{ key: string; topic: string | null; topicId: string }> = [];
  let bytes = 0;
  for (const t of targets) {
    const key = `${t.topic}\u0000${t.topicId}`;
    let list = byTopic.get(key);
    if (!list) {
      byTopic.set(key, (list = []));
      topicOrder.push({ key, topic: t.topic, topicId: t.topicId });
    }
    const base = {
      partitionIndex: t.partition.partition,
      errorCode: t.errorCode,
      highWatermark: -1,
      lastStableOffset: -1,
      logStartOffset: -1,
      abortedTransactions: readCommitted ? [] : null,
      preferredReadReplica: -1,
      records: EMPTY,
    };
    if (t.errorCode !== ErrorCode.NONE) {
      list.push(base);
      continue;
    }
    let p;
    try {
      p = broker.log.partition(t.topic!, t.partition.partition);
    } catch (err) {
      // Deleted (or shrunk) while the fetch was waiting.
      list.push({ ...base, errorCode: err instanceof LogError ? errorCodeOf(err) : ErrorCode.UNKNOWN_SERVER_ERROR });
      continue;
    }
    const lso = p.lastStableOffset;
    const offsets = { highWatermark: p.highWatermark, lastStableOffset: lso, logStartOffset: p.logStartOffset };
    const budget = Math.min(t.partition.partitionMaxBytes, maxBytes - bytes);
    if (budget <= 0 && bytes > 0) {
      list.push({ ...base, ...offsets });
      continue;
    }
    try {
      // read_committed readers stop at the last stable offset and learn which transactions to skip.
      const read = p.read(t.partition.fetchOffset, Math.max(1, budget), readCommitted ? lso : p.highWatermark);
      // Only the first batch of the whole response may exceed the limits.
      const records = bytes > 0 && read.batches.length > budget ? EMPTY : read.batches;
      bytes += records.length;
      const abortedTransactions = readCommitted ? p.abortedTransactions(t.partition.fetchOffset, lso).map((a) => ({ producerId: a.pid, firstOffset: a.first })) : null;
      list.push({ ...base, ...offsets, records, abortedTransactions });
    } catch (err) {
      const code = err instanceof LogError ? errorCodeOf(err) : ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) broker.logger.error({ err }, 'fetch failed');
      list.push({ ...base, ...offsets, errorCode: code });
    }
  }
  const responses = topicOrder.map((t) => ({ topic: t.topic ?? '', topicId: t.topicId, partitions: byTopic.get(t.key)! }));
  return { responses, bytes };
}

async function waitForAny(broker: BrokerContext, targets: Target[], maxWaitMs: number, signal: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const waits = targets
      .filter((t) => t.errorCode === ErrorCode.NONE)
      .map((t) => broker.log.partition(t.topic!, t.partition.partition).waitForData(t.partition.fetchOffset, maxWaitMs, ac.signal));
    if (waits.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, maxWaitMs);
        ac.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return;
    }
    await Promise.race(waits);
  } finally {
    ac.abort();
    signal.removeEventListener('abort', onAbort);
  }
}
