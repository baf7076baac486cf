import { describeAttempts, type GpuAttempt } from '../gpu/acquire.js';
import { dawnGpuOpener } from '../node/dawn.js';
import { selfTest, type SelfTestResult } from '../selftest.js';
import { VERSION } from '../version.js';
import { ExitCode, type CliIo } from './io.js';
import { adapterOption, parse } from './options.js';

const HELP = [
  'Usage: tokenmix doctor [--json] [--adapter NAME]',
  '',
  'Show which WebGPU adapter tokenmix gets (vendor, device, backend, feature level, key limits,',
  'whether it is a software rasterizer) and self-test every kernel on GPU and CPU.',
  'Exit code 0 when the self-test passes or no adapter exists (CPU fallback), 1 on a mismatch.',
  '',
  'Options:',
  '  --json          print one JSON object: { backend, adapter, attempts, dawnLog, selfTest, ... }',
  '  --adapter NAME  Dawn backend: auto (default), default, vulkan, metal, d3d12, opengles, opengl',
].join('\n');

export async function doctor(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' }, adapter: { type: 'string' } });
  if (values.help) {
    io.out(HELP);
    return ExitCode.ok;
  }
  const { ctx, attempts, nativeLog } = await dawnGpuOpener(adapterOption(values.adapter))();
  let test: SelfTestResult | { ok: boolean; skipped: string } = { ok: true, skipped: 'no GPU adapter: kernels run on the CPU oracle' };
  try {
    if (ctx) test = await selfTest(ctx);
    const report = {
      tokenmix: VERSION,
      backend: ctx ? 'gpu' : 'cpu',
      adapter: ctx ? { vendor: ctx.adapter.vendor, architecture: ctx.adapter.architecture, device: ctx.adapter.device, description: ctx.adapter.description } : null,
      dawnBackend: ctx?.adapter.backend ?? null,
      featureLevel: ctx?.adapter.featureLevel ?? null,
      software: ctx?.adapter.isSoftware ?? null,
      limits: ctx?.limits ?? null,
      attempts,
      dawnLog: nativeLog ?? null,
      selfTest: test,
    };
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else io.out(render(report, attempts));
    return test.ok ? ExitCode.ok : ExitCode.failed;
  } finally {
    ctx?.destroy();
  }
}

function render(report: { backend: string; adapter: Record<string, string> | null; dawnBackend: string | null; featureLevel: string | null; software: boolean | null; limits: object | null; dawnLog: string | null; selfTest: SelfTestResult | { ok: boolean; skipped: string } }, attempts: GpuAttempt[]): string {
  const lines = [`tokenmix ${VERSION} doctor`];
  if (report.dawnLog) lines.push('Dawn messages while probing adapters:', ...report.dawnLog.trimEnd().split('\n').map((line) => `  | ${line}`));
  if (!report.adapter) {
    lines.push(`backend: cpu (no WebGPU adapter: ${describeAttempts(attempts)})`);
    lines.push('Kernels run on the CPU oracle. On Linux without a GPU, install Mesa llvmpipe:');
    lines.push('  apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2');
    return lines.join('\n');
  }
  const a = report.adapter;
  lines.push(`backend: gpu via Dawn ${report.dawnBackend} (${report.featureLevel} feature level)`);
  lines.push(`adapter: ${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || '(unnamed)'}${a.description ? ` — ${a.description}` : ''}`);
  if (report.software) lines.push('note: a software rasterizer (runs on the CPU): correct, not fast');
  lines.push('limits:');
  for (const [name, value] of Object.entries(report.limits ?? {})) lines.push(`  ${name.padEnd(36)} ${value}`);
  lines.push(`tried: ${describeAttempts(attempts)}`);
  const test = report.selfTest;
  if ('kernels' in test) {
    lines.push('self-test (GPU vs CPU oracle, seeded):');
    for (const [name, k] of Object.entries(test.kernels)) {
      lines.push(`  ${k.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(10)} ${k.detail} (gpu ${k.gpuMs.toFixed(1)} ms, cpu ${k.cpuMs.toFixed(1)} ms)`);
    }
  }
  lines.push(test.ok ? 'self-test passed' : 'self-test FAILED');
  return lines.join('\n');
}
