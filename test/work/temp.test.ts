/** Temporary names of work in progress (src/work/temp.ts) and the removal of killed processes' leftovers. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDeadTemps, tempPath } from '../../src/work/temp.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenmix-temp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('temporary files', () => {
  it('names are unique per call and carry host and pid', () => {
    const a = tempPath(join(dir, 'out.jsonl'));
    const b = tempPath(join(dir, 'out.jsonl'));
    expect(a).not.toBe(b);
    expect(basename(a)).toMatch(new RegExp(`^out\\.jsonl\\.${hostname().replace(/[^A-Za-z0-9]/g, '_')}-${process.pid}-[0-9a-f]{8}\\.partial$`));
  });

  it("removes a dead process's files of this host, keeps a live one's and another host's", async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const host = hostname().replace(/[^A-Za-z0-9]/g, '_');
    const names = {
      dead: `quarantine.jsonl.${host}-${dead}-0badcafe.partial`,
      live: basename(tempPath(join(dir, 'keep.jsonl'))),
      elsewhere: `drops.jsonl.another_host-${dead}-0badcafe.partial`,
      output: 'clusters.jsonl',
    };
    for (const name of Object.values(names)) writeFileSync(join(dir, name), 'x');
    await removeDeadTemps([dir, join(dir, 'missing')]);
    expect(readdirSync(dir).sort()).toEqual([names.output, names.elsewhere, names.live].sort());
  });
});
