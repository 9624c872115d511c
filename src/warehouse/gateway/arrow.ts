/**
 * DuckDB result chunks → Arrow IPC stream (for large results: columnar, typed, no JSON).
 *
 * Fixed-width columns are copied into typed arrays (timestamps stay microseconds, dates days);
 * strings and booleans go through Arrow's builders; types Arrow JS has no direct counterpart
 * for here (decimals, huge integers, intervals, nested values, …) travel as UTF-8 text in the
 * JSON form the other formats use, and the schema's field metadata records DuckDB's type.
 */
import { DuckDBTypeId, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import {
  Bool,
  DateDay,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { jsonValue } from './values.ts';

type Kind = 'bool' | 'int32' | 'int64' | 'float32' | 'float64' | 'date' | 'ts' | 'tstz' | 'text';

function kindOf(t: DuckDBType): Kind {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'bool';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
      return 'int32';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'int64';
    case DuckDBTypeId.FLOAT:
      return 'float32';
    case DuckDBTypeId.DOUBLE:
      return 'float64';
    case DuckDBTypeId.DATE:
      return 'date';
    case DuckDBTypeId.TIMESTAMP:
      return 'ts';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'tstz';
    default:
      return 'text';
  }
}

function arrowType(k: Kind): DataType {
  switch (k) {
    case 'bool':
      return new Bool();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'date':
      return new DateDay();
    case 'ts':
      return new TimestampMicrosecond();
    case 'tstz':
      return new TimestampMicrosecond('UTC');
    case 'text':
      return new Utf8();
  }
}

export class ArrowEncoder {
  private readonly kinds: Kind[];
  private readonly schema: Schema;
  private readonly writer = new RecordBatchStreamWriter();

  constructor(
    names: readonly string[],
    private readonly types: readonly DuckDBType[],
  ) {
    this.kinds = types.map(kindOf);
    this.schema = new Schema(names.map((n, i) => new Field(n, arrowType(this.kinds[i]!), true, new Map([['duckdb.type', types[i]!.toString()]]))));
  }

  /** Encodes one chunk; returns the IPC bytes produced so far (the schema message comes with the first). */
  write(chunk: DuckDBDataChunk): Uint8Array {
    const n = chunk.rowCount;
    const children: Data[] = this.kinds.map((k, c) => this.column(k, chunk, c, n));
    const data = makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children });
    this.wroteAny = true;
    this.writer.write(new RecordBatch(this.schema, data));
    return this.drain();
  }

  /**
   * The bytes written since the last call. The writer's sync `toUint8Array` joins everything
   * buffered without consuming it, so the buffer is emptied here (else every chunk would carry
   * all earlier ones again).
   */
  private drain(): Uint8Array {
    const bytes = this.writer.toUint8Array(true);
    const sink = (this.writer as unknown as { _sink?: { _values?: unknown[] } })._sink;
    if (!Array.isArray(sink?._values)) throw new Error('apache-arrow: unexpected RecordBatchWriter internals (no _sink._values); the Arrow encoder needs updating');
    sink._values.length = 0;
    return bytes;
  }

  /** The end-of-stream marker (and the schema, for an empty result). */
  finish(): Uint8Array {
    if (!this.wroteAny) this.writer.reset(undefined, this.schema);
    this.writer.finish();
    return this.drain();
  }

  private wroteAny = false;

  private column(k: Kind, chunk: DuckDBDataChunk, c: number, n: number): Data {
    const vector = chunk.getColumnVector(c);
    const type = arrowType(k);
    if (k === 'bool' || k === 'text') {
      const values: Array<unknown> = new Array(n);
      for (let r = 0; r < n; r++) {
        const v = vector.getItem(r);
        if (v === null) values[r] = null;
        else if (k === 'bool') values[r] = v as boolean;
        else {
          const j = jsonValue(v, this.types[c]!, jsonValue);
          values[r] = typeof j === 'string' ? j : JSON.stringify(j);
        }
      }
      return vectorFromArray(values, type).data[0]!;
    }
    const nullBitmap = new Uint8Array((n + 7) >> 3);
    let nullCount = 0;
    let data: Int32Array | BigInt64Array | Float32Array | Float64Array;
    if (k === 'int32' || k === 'date') data = new Int32Array(n);
    else if (k === 'float32') data = new Float32Array(n);
    else if (k === 'float64') data = new Float64Array(n);
    else data = new BigInt64Array(n);
    for (let r = 0; r < n; r++) {
      const v = vector.getItem(r);
      if (v === null) {
        nullCount++;
        continue;
      }
      nullBitmap[r >> 3]! |= 1 << (r & 7);
      switch (k) {
        case 'int32':
        case 'float32':
        case 'float64':
          (data as Int32Array | Float64Array)[r] = v as number;
          break;
        case 'int64':
          (data as BigInt64Array)[r] = BigInt(v as number | bigint);
          break;
        case 'date':
          (data as Int32Array)[r] = (v as { days: number }).days;
          break;
        case 'ts':
        case 'tstz':
          (data as BigInt64Array)[r] = (v as { micros: bigint }).micros;
          break;
      }
    }
    return makeData({ type: type as never, length: n, nullCount, nullBitmap: nullCount ? nullBitmap : null, data } as never) as Data;
  }
}
