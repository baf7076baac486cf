import { BufferUsage, MapMode } from './constants.js';
import { alignBytes } from './dispatch.js';

const MIN_CLASS_BYTES = 256;

/** Power-of-two size class, so buffers of similar sizes can be reused. */
export function sizeClass(bytes: number): number {
  let size = MIN_CLASS_BYTES;
  while (size < bytes) size *= 2;
  return size;
}

/**
 * Scratch buffers pooled by (usage, size class). A buffer goes back to the pool only after
 * the submit that used it was issued: queue order then guarantees a later write cannot
 * overtake the earlier use. The pool owns what it hands out and destroys it all at the end.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly owned = new Set<GPUBuffer>();
  /** Buffers created (not reused) so far: tests check reuse. */
  createdCount = 0;

  constructor(private readonly device: GPUDevice, private readonly maxBufferBytes: number) {}

  acquire(bytes: number, usage: number, label: string): GPUBuffer {
    const size = Math.min(sizeClass(alignBytes(bytes)), Math.max(alignBytes(bytes), this.maxBufferBytes));
    const key = `${usage}:${size}`;
    const reused = this.free.get(key)?.pop();
    if (reused) {
      reused.label = label;
      return reused;
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.owned.add(buffer);
    this.createdCount++;
    return buffer;
  }

  release(...buffers: GPUBuffer[]): void {
    for (const buffer of buffers) {
      if (!this.owned.has(buffer)) continue;
      const key = `${buffer.usage}:${buffer.size}`;
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      if (!list.includes(buffer)) list.push(buffer);
    }
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    this.owned.clear();
    this.free.clear();
  }
}

/** A storage buffer bound with an exact byte size (the pooled buffer may be larger). */
export interface BoundBuffer {
  buffer: GPUBuffer;
  bytes: number;
}

/** Upload `data` into a pooled storage buffer (min 4 bytes: a zero-size binding is invalid). */
export function uploadStorage(
  device: GPUDevice,
  pool: BufferPool,
  data: ArrayBufferView,
  label: string,
  extraUsage = 0,
): BoundBuffer {
  const bytes = alignBytes(data.byteLength);
  const buffer = pool.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC | extraUsage, label);
  if (data.byteLength > 0) {
    if (data.byteLength % 4 === 0) {
      device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    } else {
      const padded = new Uint8Array(bytes);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      device.queue.writeBuffer(buffer, 0, padded);
    }
  }
  return { buffer, bytes };
}

/** A zero-filled pooled storage buffer for outputs and accumulators. */
export function zeroedStorage(device: GPUDevice, pool: BufferPool, bytes: number, label: string): BoundBuffer {
  const size = alignBytes(bytes);
  const buffer = pool.acquire(size, BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC, label);
  const encoder = device.createCommandEncoder({ label: `${label}:clear` });
  encoder.clearBuffer(buffer, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  return { buffer, bytes: size };
}

/** A pooled uniform buffer holding `data` (padded to 16 bytes). */
export function uploadUniform(device: GPUDevice, pool: BufferPool, data: ArrayBufferView, label: string): BoundBuffer {
  const bytes = alignBytes(data.byteLength, 16);
  const buffer = pool.acquire(bytes, BufferUsage.UNIFORM | BufferUsage.COPY_DST, label);
  const padded = new Uint8Array(bytes);
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  device.queue.writeBuffer(buffer, 0, padded);
  return { buffer, bytes };
}

/**
 * Copy `bytes` from `source` into a pooled staging buffer, map it and return a copy of the
 * contents. The staging buffer is unmapped and returned to the pool whatever happens.
 */
export async function readBack(
  device: GPUDevice,
  pool: BufferPool,
  source: GPUBuffer,
  bytes: number,
  label: string,
  sourceOffset = 0,
): Promise<ArrayBuffer> {
  const size = alignBytes(bytes);
  const staging = pool.acquire(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST, `${label}:staging`);
  const encoder = device.createCommandEncoder({ label: `${label}:readback` });
  encoder.copyBufferToBuffer(source, sourceOffset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(MapMode.READ, 0, size);
    return staging.getMappedRange(0, size).slice(0, bytes);
  } finally {
    if (staging.mapState === 'mapped') staging.unmap();
    pool.release(staging);
  }
}

/** Bind group entries for buffers at bindings 0..n-1 with their exact sizes. */
export function bindGroup(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: BoundBuffer[],
  label: string,
  group = 0,
): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(group),
    entries: buffers.map((b, binding) => ({ binding, resource: { buffer: b.buffer, offset: 0, size: b.bytes } })),
  });
}
