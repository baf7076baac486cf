/**
 * JSONL writer: one record per line, plain, gzip (Node's zlib, level 6, one gzip member) or
 * zstd (one frame per 1 MiB block, see zstd-compress.ts). Lines are gathered into blocks of
 * a fixed size before they reach the compressor, so the output bytes depend only on the lines.
 */
import { PassThrough, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Compression } from './types.js';
import { FileSink, type WrittenFile } from './write-sink.js';
import { zstdFrame, zstdReady } from './zstd-compress.js';

const BLOCK_BYTES = 1 << 20;

export class JsonlWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private constructor(private readonly sink: FileSink) {}

  static async create(path: string, compression: Compression): Promise<JsonlWriter> {
    if (compression === 'zstd') await zstdReady();
    const head =
      compression === 'gzip'
        ? createGzip({ level: 6 })
        : compression === 'zstd'
          ? new Transform({ transform: (chunk: Buffer, _encoding, callback) => callback(null, zstdFrame(chunk)) })
          : new PassThrough();
    return new JsonlWriter(new FileSink(path, head));
  }

  /** `line` is one JSON value without its newline. */
  async writeLine(line: string): Promise<void> {
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= BLOCK_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const block = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.sink.write(block);
  }

  async close(): Promise<WrittenFile> {
    await this.flush();
    return this.sink.close();
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }
}
