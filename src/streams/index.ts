/**
 * Stream processing: a typed DSL over streams and tables, event time with watermarks, windows,
 * joins, state stores with changelogs and snapshots, exactly-once on the embedded log.
 */
export { StreamsBuilder, KStream, KTable, KGroupedStream, TimeWindowedKStream, SessionWindowedKStream } from './dsl/builder.ts';
export type { Named, StatefulNamed, SourceOptions, TableOptions, SinkOptions, StoreOptions, WindowedAggOptions, JoinOptions, MaterializeOptions } from './dsl/builder.ts';
export { TimeWindows, SlidingWindows, SessionWindows, JoinWindows, type Windowed, type EmitMode } from './windows.ts';
export { Serdes, type Serde } from './serdes.ts';
export { StreamsError, type StreamsErrorCode } from './errors.ts';
export { TopologyTestDriver, type TestDriverOptions, type OutputRecord } from './test-driver.ts';
export { describeTopology, type Topology, type TopologyDescription, type Change } from './topology.ts';
export { KeyValueStore, WindowedStore, type StateStore } from './state/stores.ts';
export { DLQ_HEADERS, type ErrorPolicy } from './runtime/task.ts';
