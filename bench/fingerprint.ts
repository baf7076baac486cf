/**
 * Cost of the content fingerprints of resume (src/work/fingerprint.ts): the full SHA-256
 * that the map computes alongside its read and the reduce checks once, and the sampled
 * fingerprint checked for every completed shard when a rank resumes.
 *
 *   npm run bench:fingerprint [-- --mb 512]
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileSha256, sampleFingerprint } from '../src/work/fingerprint.js';
import { machineInfo, measure, printMachine, writeResults } from './common.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '512' } } });
const megabytes = Number(values.mb);
const info = machineInfo(null);
printMachine(info);
const dir = mkdtempSync(join(tmpdir(), 'tokenmix-fingerprint-'));
const path = join(dir, 'input.bin');
const chunk = Buffer.alloc(1 << 20);
const fd = openSync(path, 'w');
for (let i = 0; i < megabytes; i++) writeSync(fd, randomFillSync(chunk));
closeSync(fd);

const full = await measure(() => fileSha256(path), { warmup: 1, repeats: 3 });
const sample = await measure(() => sampleFingerprint(path), { warmup: 1, repeats: 20 });
const fullMBps = megabytes / (full.medianMs / 1000);
console.log(`full SHA-256: ${fullMBps.toFixed(0)} MB/s (${megabytes} MB in ${full.medianMs.toFixed(0)} ms, page cache warm)`);
console.log(`sampled fingerprint: ${sample.medianMs.toFixed(2)} ms per file (8 × 32 KiB, whatever the size)`);
console.log(`results: ${writeResults('fingerprint', { machine: info, megabytes, fullMBps, fullMs: full.samplesMs, sampleMs: sample.samplesMs })}`);
rmSync(dir, { recursive: true, force: true });
