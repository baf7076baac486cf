/**
 * Where a writer's bytes go: a `.partial` file renamed into place on close (a killed run never
 * leaves a half file that looks finished), with the SHA-256 and size of exactly what was
 * written, for the manifest.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface WrittenFile {
  /** Absolute path. */
  path: string;
  bytes: number;
  sha256: string;
}

export class FileSink {
  private readonly digest = createHash('sha256');
  private bytes = 0;
  private readonly done: Promise<void>;
  private failure: unknown;

  /** `head` is the first stage (a compressor, or a pass-through); its output is hashed and written. */
  constructor(readonly path: string, readonly head: Writable & NodeJS.ReadableStream) {
    const count = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.digest.update(chunk);
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    this.done = pipeline(head, count, createWriteStream(`${path}.partial`));
    // Seen by write() and close(); keeps a failure from being an unhandled rejection meanwhile.
    this.done.catch((error: unknown) => (this.failure = error));
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.head.write(chunk)) await new Promise<void>((resolve) => this.head.once('drain', resolve).once('close', resolve));
  }

  async close(): Promise<WrittenFile> {
    this.head.end();
    await this.done;
    await rename(`${this.path}.partial`, this.path);
    return { path: this.path, bytes: this.bytes, sha256: this.digest.digest('hex') };
  }

  async abort(): Promise<void> {
    this.head.destroy();
    await this.done.catch(() => {});
    await rm(`${this.path}.partial`, { force: true });
  }
}
