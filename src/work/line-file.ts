/**
 * Output files of a run (dedup's and curate's keep, drop, cluster and quarantine lists): lines
 * buffered and written in ~1 MB chunks to a temporary name (unique per process, so two ranks
 * finishing together cannot interleave), then renamed, with their size and SHA-256 for the
 * manifest (SPEC §6).
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { tempPath } from './temp.js';

export interface OutputFile {
  path: string;
  bytes: number;
  sha256: string;
  /** Data files (pipeline/data-output.ts): records and their tokens. */
  rows?: number;
  tokens?: number;
}

/** Bytes buffered before a write. */
const CHUNK_BYTES = 1 << 20;

export class LineFile {
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private bytes = 0;
  // Lines are encoded straight into one reused buffer: joining them into a string first made
  // half of the cluster pass's writing garbage collection.
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private readonly temp: string;

  constructor(readonly path: string) {
    this.temp = tempPath(path);
    this.fd = openSync(this.temp, 'w');
  }

  /** Append one JSON line (serialized by the caller so key order is explicit). */
  line(text: string): void {
    this.text(text);
    if (this.used === CHUNK_BYTES) this.flush();
    this.buffer[this.used++] = 0x0a;
  }

  /** Append text as it is. */
  text(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + 3 * text.length > CHUNK_BYTES) {
      this.flush();
      if (3 * text.length > CHUNK_BYTES) {
        this.write(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.buffer.write(text, this.used);
  }

  /** Append bytes that are already whole lines (a part file written elsewhere). */
  append(bytes: Uint8Array): void {
    this.flush();
    this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.bytes += bytes.length;
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  private flush(): void {
    if (this.used === 0) return;
    this.write(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  close(outDir: string): OutputFile {
    this.flush();
    closeSync(this.fd);
    renameSync(this.temp, this.path);
    return { path: relative(outDir, this.path).split(sep).join('/'), bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** Write a whole text file atomically and describe it. */
export function writeWholeFile(outDir: string, path: string, text: string): OutputFile {
  const file = new LineFile(path);
  file.text(text);
  return file.close(outDir);
}

/**
 * Per-unit part files that tasks write (`dir/00003.keep`, `dir/00003.drops`, …) and the calling
 * thread joins in unit order into the output files. The directory starts empty.
 */
export class PartFiles {
  constructor(readonly dir: string) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  /** What unit `u`'s task appends `.keep`, `.drops`, … to. */
  prefix(u: number): string {
    return join(this.dir, String(u).padStart(5, '0'));
  }

  /** Appends unit `u`'s part `kind` to `file`. */
  joinInto(file: LineFile, u: number, kind: string): void {
    file.append(readFileSync(`${this.prefix(u)}.${kind}`));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
