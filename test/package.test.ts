import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../src/version.js';

const root = join(import.meta.dirname, '..');

describe('package', () => {
  it('VERSION matches package.json', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });
  it('the browser entry imports no Node module (transitively)', () => {
    // Walk the import graph of src/index.ts and refuse node: builtins.
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const spec = match[1];
        if (spec.startsWith('node:')) offenders.push(`${file}: ${spec}`);
        else if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(root, 'src/index.ts'));
    expect(offenders).toEqual([]);
    expect(seen.size).toBeGreaterThan(20);
  });
  it('every shader has a host kernel and a CPU oracle of the same name', () => {
    const shaders = readdirSync(join(root, 'shaders')).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, ''));
    const names = (dir: string) => new Set(readdirSync(join(root, dir)).map((f) => f.replace(/\.ts$/, '')));
    const kernels = names('src/kernels');
    const oracles = names('src/cpu');
    for (const shader of shaders) {
      const base = shader.split('_')[0]; // threshold_scan.wgsl belongs to the threshold kernel
      expect(kernels.has(base), `src/kernels/${base}.ts for shaders/${shader}.wgsl`).toBe(true);
      expect(oracles.has(base), `src/cpu/${base}.ts for shaders/${shader}.wgsl`).toBe(true);
    }
  });
});
