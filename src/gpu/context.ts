import { GpuUnavailableError } from '../errors.js';
import { BufferPool } from './buffers.js';
import { PipelineCache } from './pipelines.js';

/** What we report about the adapter a context runs on (doctor, manifests, benchmarks). */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** How it was obtained: 'default', 'opengles', 'browser', or an explicit override. */
  backend: string;
  featureLevel: 'core' | 'compatibility';
  /** A CPU rasterizer (llvmpipe, lavapipe, SwiftShader, WARP): correct, not fast. */
  isSoftware: boolean;
}

/** The limits the kernels plan their batches against. */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBuffersPerShaderStage: number;
}

const LIMIT_NAMES: (keyof GpuLimits)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
];

const SOFTWARE_PATTERN = /llvmpipe|lavapipe|swiftshader|software|warp|basic render/i;

export function summarizeAdapter(
  info: GPUAdapterInfo | undefined,
  backend: string,
  featureLevel: 'core' | 'compatibility',
  isFallbackAdapter = false,
): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const isSoftware = isFallbackAdapter || SOFTWARE_PATTERN.test(`${vendor} ${architecture} ${device} ${description}`);
  return { vendor, architecture, device, description, backend, featureLevel, isSoftware };
}

/**
 * One GPU device and everything that hangs off it: the pipeline cache, the buffer pool and
 * the device's error state. Whoever creates a context destroys it; destroy() is idempotent.
 */
export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly buffers: BufferPool;
  /** Set when the device was lost or reported an uncaptured error; kernels refuse to run. */
  private failure: string | undefined;
  private destroyed = false;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    readonly limits: GpuLimits,
    /** Objects that must outlive the device (the Dawn instance in Node). */
    private readonly keepAlive: unknown,
  ) {
    this.pipelines = new PipelineCache(device);
    this.buffers = new BufferPool(device, limits.maxBufferSize);
    device.lost.then((info) => {
      if (!this.destroyed) this.failure ??= `GPU device lost (${info.reason}): ${info.message}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.failure ??= `GPU error: ${error.message}`;
    });
  }

  /** Request a device with the adapter's full compute limits (compat mode defaults are small). */
  static async fromAdapter(adapter: GPUAdapter, backend: string, keepAlive: unknown): Promise<GpuContext> {
    const requiredLimits: Record<string, number> = {};
    for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
    const device = await adapter.requestDevice({ label: 'tokenmix', requiredLimits });
    const limits = {} as GpuLimits;
    for (const name of LIMIT_NAMES) limits[name] = device.limits[name];
    const featureLevel = (adapter as GPUAdapter & { featureLevel?: string }).featureLevel === 'compatibility'
      || !adapter.features.has('core-features-and-limits')
      ? 'compatibility'
      : 'core';
    const summary = summarizeAdapter(adapter.info, backend, featureLevel, (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    return new GpuContext(device, summary, limits, keepAlive);
  }

  /** Throws if the device is no longer usable; call before each kernel. */
  assertHealthy(): void {
    if (this.destroyed) throw new GpuUnavailableError('tokenmix: the GPU context was already destroyed');
    if (this.failure) throw new GpuUnavailableError(`tokenmix: ${this.failure}`);
  }

  /**
   * Run `work` inside validation and out-of-memory error scopes; a captured error becomes a
   * thrown GpuUnavailableError naming `what`.
   */
  async checked<T>(what: string, work: () => Promise<T>): Promise<T> {
    this.assertHealthy();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    try {
      result = await work();
    } finally {
      const validation = await this.device.popErrorScope();
      const memory = await this.device.popErrorScope();
      const error = validation ?? memory;
      if (error) throw new GpuUnavailableError(`tokenmix: GPU ${what} failed: ${error.message}`);
    }
    return result;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffers.destroy();
    this.device.destroy();
    void this.keepAlive;
  }
}
