/**
 * Parquet writer over hyparquet-writer's `ParquetWriter`, streaming: rows are gathered into
 * a row group and each finished row group is encoded and written out, so memory holds one
 * row group. Row groups close at 100,000 rows or about 64 MiB of values, whichever comes
 * first (large enough for good compression and few footer entries, small enough that a
 * reader holds one comfortably and that a file splits into many groups for parallel reads).
 * Pages carry offset indexes (hyparquet-writer's default), which lets readers fetch a row range.
 *
 * Compression: ZSTD level 3 on every column (text compresses markedly better than with
 * Parquet's usual Snappy; every current Parquet reader, hyparquet included, decodes ZSTD).
 */
import { PassThrough } from 'node:stream';
import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { VERSION } from '../version.js';
import { FileSink, type WrittenFile } from './write-sink.js';
import { zstdFrame, zstdReady } from './zstd-compress.js';

export const ROW_GROUP_ROWS = 100_000;
export const ROW_GROUP_BYTES = 64 << 20;

/** A hyparquet-writer `Writer` that hands each finished row group's bytes to a sink. */
class SinkWriter extends ByteWriter {
  constructor(private readonly sink: FileSink) {
    super(1 << 20);
  }
  flush(): Promise<void> {
    // Copy: the buffer is reused for the next row group.
    const bytes = this.getBytes().slice();
    this.index = 0;
    return this.sink.write(bytes);
  }
  override finish(): Promise<void> {
    return this.flush();
  }
}

export class ParquetFileWriter {
  private readonly columns: unknown[][];
  private rows = 0;
  private bytes = 0;

  private constructor(
    private readonly sink: FileSink,
    private readonly writer: ParquetWriter,
    private readonly names: string[],
  ) {
    this.columns = names.map(() => []);
  }

  /** `schema` is a flattened Parquet schema (root first), e.g. an input file's own. */
  static async create(path: string, schema: SchemaElement[]): Promise<ParquetFileWriter> {
    await zstdReady();
    const sink = new FileSink(path, new PassThrough());
    const writer = new ParquetWriter({
      writer: new SinkWriter(sink),
      schema,
      codec: 'ZSTD',
      compressors: { ZSTD: zstdFrame },
      createdBy: `tokenmix ${VERSION}`,
    });
    return new ParquetFileWriter(sink, writer, topLevelNames(schema));
  }

  /** One row: top-level column name → value as the schema expects it; `bytes` sizes row groups. */
  async writeRow(row: Record<string, unknown>, bytes: number): Promise<void> {
    this.names.forEach((name, c) => this.columns[c].push(row[name] ?? null));
    this.rows++;
    this.bytes += bytes;
    if (this.rows >= ROW_GROUP_ROWS || this.bytes >= ROW_GROUP_BYTES) await this.flushGroup();
  }

  private async flushGroup(): Promise<void> {
    if (this.rows === 0) return;
    const columnData = this.names.map((name, c) => ({ name, data: this.columns[c] }));
    await this.writer.write({ columnData, rowGroupSize: this.rows });
    this.columns.forEach((_, c) => (this.columns[c] = []));
    this.rows = 0;
    this.bytes = 0;
  }

  async close(): Promise<WrittenFile> {
    await this.flushGroup();
    await this.writer.finish();
    return this.sink.close();
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }
}

/** Names of the root's children in a flattened schema (each child's subtree skipped). */
export function topLevelNames(schema: SchemaElement[]): string[] {
  const names: string[] = [];
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let k = 0; k < (schema[at].num_children ?? 0); k++) next = skip(next);
    return next;
  };
  for (let k = 0; k < (schema[0].num_children ?? 0); k++) {
    names.push(schema[i].name);
    i = skip(i);
  }
  return names;
}
