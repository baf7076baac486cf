/**
 * Dawn's adapter-probe warnings (issue 13): written by native code to fd 2, they are captured
 * and kept for doctor/--verbose; a run shows one line naming the backend.
 */
import { execFile } from 'node:child_process';
import { writeSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { captureNativeStderr, splitDawnLog } from '../../src/node/native-stderr.js';

const DAWN_TEXT = [
  "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
  '    at operator() (/x/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
  '',
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.',
].join('\n');

describe('splitDawnLog', () => {
  it('takes Dawn blocks (severity line, indented continuation, blank) and leaves other text', () => {
    const text = `before\n${DAWN_TEXT}\nafter: not Dawn\n`;
    expect(splitDawnLog(text)).toEqual({ dawn: `${DAWN_TEXT}\n`, others: 'before\nafter: not Dawn\n' });
  });
  it('empty text', () => expect(splitDawnLog('')).toEqual({ dawn: '', others: '' }));
});

describe('captureNativeStderr', () => {
  it('captures what is written to file descriptor 2 itself, not through process.stderr', async () => {
    const { value, nativeLog } = await captureNativeStderr(async () => {
      writeSync(2, `${DAWN_TEXT}\n`);
      return 42;
    });
    expect(value).toBe(42);
    expect(nativeLog).toBe(`${DAWN_TEXT}\n`);
  });

  it('restores fd 2 when the work throws', async () => {
    await expect(captureNativeStderr(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    const again = await captureNativeStderr(async () => writeSync(2, 'Warning: second\n'));
    expect(again.nativeLog).toBe('Warning: second\n');
  });
});

describe('a run on the GPU backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-stderr-run-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const entry = new URL('../pipeline/cli-entry.ts', import.meta.url).pathname;
  const config = new URL('../../fixtures/corpus/curate.json', import.meta.url).pathname;
  const run = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', entry, ...args], { timeout: 120_000 });

  it('prints one line naming the adapter and none of Dawn\'s probe messages; --verbose adds them', async () => {
    const quiet = await run(['curate', '--config', config, '--out', join(dir, 'a'), '--no-report']);
    const lines = quiet.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tokenmix: (backend gpu: |using the CPU backend)/);

    const verbose = await run(['curate', '--config', config, '--out', join(dir, 'b'), '--no-report', '--verbose']);
    const doctor = await run(['doctor', '--json']);
    const dawnLog: string | null = JSON.parse(doctor.stdout).dawnLog;
    // Whatever Dawn says while probing on this machine (nothing on a machine with Vulkan) is
    // what --verbose shows, before the backend line.
    expect(verbose.stderr).toBe(`${dawnLog ?? ''}${lines[0]}\n`);
  });
});

describe('captureNativeStderr, twice at once', () => {
  it('takes turns: each capture gets its own text and fd 2 is restored after both', async () => {
    const slow = captureNativeStderr(async () => {
      writeSync(2, 'Warning: first\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      writeSync(2, 'Warning: first again\n');
    });
    // Overlapping, not nested: the second ends after the first.
    const late = captureNativeStderr(async () => {
      writeSync(2, 'Warning: second\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      writeSync(2, 'Warning: second again\n');
    });
    expect((await slow).nativeLog).toBe('Warning: first\nWarning: first again\n');
    expect((await late).nativeLog).toBe('Warning: second\nWarning: second again\n');
    const after = await captureNativeStderr(async () => writeSync(2, 'Warning: third\n'));
    expect(after.nativeLog).toBe('Warning: third\n');
  });
});
