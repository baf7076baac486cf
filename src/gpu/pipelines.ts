import { shaderSources, type ShaderName } from './shaders.generated.js';
import type { PhaseTimes } from './timing.js';

/**
 * Compiled compute pipelines for one device. The cache key is made only of what changes
 * the compiled code: the shader, its entry point and its override constants (workgroup
 * size and similar). Data sizes and thresholds travel in uniforms, never in the key.
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly modules = new Map<ShaderName, GPUShaderModule>();
  /** How many pipelines were actually compiled (tests assert reuse). */
  compiledCount = 0;

  constructor(private readonly device: GPUDevice) {}

  get(
    shader: ShaderName,
    options: { entryPoint?: string; constants?: Record<string, number>; times?: PhaseTimes } = {},
  ): Promise<GPUComputePipeline> {
    const entryPoint = options.entryPoint ?? 'main';
    const constants = options.constants ?? {};
    const key = `${shader}|${entryPoint}|${JSON.stringify(Object.entries(constants).sort())}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.compile(shader, entryPoint, constants, key, options.times);
      this.pipelines.set(key, pipeline);
      // A failed compile must not poison the cache for later attempts.
      pipeline.catch(() => this.pipelines.delete(key));
    }
    return pipeline;
  }

  private async compile(
    shader: ShaderName,
    entryPoint: string,
    constants: Record<string, number>,
    key: string,
    times: PhaseTimes | undefined,
  ): Promise<GPUComputePipeline> {
    const start = performance.now();
    let module = this.modules.get(shader);
    if (!module) {
      module = this.device.createShaderModule({ label: `tokenmix:${shader}`, code: shaderSources[shader] });
      this.modules.set(shader, module);
    }
    const pipeline = await this.device.createComputePipelineAsync({
      label: `tokenmix:${key}`,
      layout: 'auto',
      compute: { module, entryPoint, constants },
    });
    this.compiledCount++;
    if (times) times.compileMs += performance.now() - start;
    return pipeline;
  }
}
