/**
 * Help and README drift (issue 13): every option a command's --help lists is one the command
 * accepts, curate's help names every stage it runs, and every config key is in the README.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { TOP_LEVEL_KEYS } from '../../src/pipeline/config.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const COMMANDS = ['doctor', 'curate', 'mix', 'dedup', 'report', 'fit'];

describe('--help lists only options the command accepts', () => {
  it.each(COMMANDS)('%s', async (command) => {
    const help = await cli([command, '--help']);
    expect(help.code).toBe(0);
    // Option lines, and the usage line (prose may mention other commands' options).
    const optionLines = help.out.split('\n').filter((line) => /^\s+--|^Usage:/.test(line));
    const flags = [...new Set(optionLines.join(' ').match(/--[a-z][a-z-]*/g) ?? [])].filter((f) => f !== '--help');
    const refused: string[] = [];
    for (const flag of flags) {
      // `--help` first: an accepted option then prints help or asks for its value; only an
      // unknown one is reported as such.
      const run = await cli([command, '--help', flag]);
      if (/unknown option/i.test(run.err)) refused.push(flag);
    }
    expect(refused).toEqual([]);
  });

  it('doctor --help does not offer --cpu-only, which doctor refuses', async () => {
    expect((await cli(['doctor', '--help'])).out).not.toContain('--cpu-only');
    expect((await cli(['doctor', '--cpu-only'])).code).toBe(2);
  });
});

describe('curate --help names every stage', () => {
  it.each(['quality', 'heuristic', 'contamination', 'exact dedup', 'near dedup'])('%s', async (stage) => {
    expect((await cli(['curate', '--help'])).out).toContain(stage);
  });
});

describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  it.each(TOP_LEVEL_KEYS)('documents the config key %s', (key) => {
    expect(readme).toMatch(new RegExp(`\`${key}[\`.]`));
  });
  it.each(['clusters.jsonl', 'cluster_rules.jsonl', 'report.html', 'sampling_plan.jsonl'])('documents the output %s', (file) => {
    expect(readme).toContain(file);
  });
});
