import { afterAll, describe, expect, it } from 'vitest';
import { iotaGpu } from '../src/kernels/iota.js';
import { iotaCpu } from '../src/cpu/iota.js';
import { resolveBackend } from '../src/backend.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

describe('backend resolution', () => {
  const none = async () => ({ ctx: null, attempts: [{ backend: 'test', ok: false, detail: 'no adapter' }] });
  it('gpu fails clearly without an adapter', async () => {
    await expect(resolveBackend('gpu', none)).rejects.toThrow(/tokenmix: no WebGPU adapter found \(test: no adapter\)/);
  });
  it('auto falls back to cpu and says so once', async () => {
    const messages: string[] = [];
    const backend = await resolveBackend('auto', none, (m) => messages.push(m));
    expect(backend.kind).toBe('cpu');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/using the CPU backend/);
  });
  it('cpu never opens a device', async () => {
    let opened = false;
    const backend = await resolveBackend('cpu', async () => {
      opened = true;
      return { ctx: null, attempts: [] };
    });
    expect(backend.kind).toBe('cpu');
    expect(opened).toBe(false);
  });
});

describe.skipIf(!gpu.ctx)(`GPU runtime (${gpu.label})`, () => {
  const sizes = [0, 1, 63, 64, 65, 65535 * 64 + 1];
  it.each(sizes)('iota of %i matches the CPU, including a grid beyond 65535 workgroups', async (count) => {
    const expected = iotaCpu(count, 0xfffffff0, 7);
    const actual = await iotaGpu(gpu.ctx!, count, 0xfffffff0, 7);
    expect(actual.length).toBe(count);
    expect(Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
  it('compiles a pipeline once and reuses it for other sizes', async () => {
    const ctx = gpu.ctx!;
    await iotaGpu(ctx, 10, 0, 1);
    const compiled = ctx.pipelines.compiledCount;
    await iotaGpu(ctx, 1000, 0, 1);
    await iotaGpu(ctx, 5, 0, 1);
    expect(ctx.pipelines.compiledCount).toBe(compiled);
  });
  it('reuses pooled buffers across calls of the same size class', async () => {
    const ctx = gpu.ctx!;
    await iotaGpu(ctx, 100, 0, 1);
    const created = ctx.buffers.createdCount;
    await iotaGpu(ctx, 90, 0, 1);
    expect(ctx.buffers.createdCount).toBe(created);
  });
  it('turns a validation error into a thrown error naming the operation', async () => {
    const ctx = gpu.ctx!;
    await expect(
      ctx.checked('bad-buffer', async () => {
        ctx.device.createBuffer({ label: 'bad', size: 4, usage: 0x0001 | 0x0080 }); // MAP_READ|STORAGE is invalid
      }),
    ).rejects.toThrow(/GPU bad-buffer failed/);
    ctx.assertHealthy();
  });
});
