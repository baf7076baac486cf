/**
 * zstd compression for written files (Node 20's zlib has none): @bokuweb/zstd-wasm, libzstd
 * compiled to WebAssembly, one-shot per block. A file is a sequence of independent frames,
 * one per block the caller hands in, which every zstd decoder reads as one stream (RFC 8878
 * §3.1); block boundaries are chosen by the caller, so the bytes are deterministic.
 */
import { compress, init } from '@bokuweb/zstd-wasm';

/** libzstd's default level: a good ratio at several hundred MB/s. */
export const ZSTD_LEVEL = 3;

let ready: Promise<void> | undefined;

/** Compiles the WebAssembly module once per process, on first use (no work at import time). */
export function zstdReady(): Promise<void> {
  ready ??= init();
  return ready;
}

/** One zstd frame holding `bytes`. Call `zstdReady()` first. */
export function zstdFrame(bytes: Uint8Array): Uint8Array {
  return compress(bytes, ZSTD_LEVEL);
}
