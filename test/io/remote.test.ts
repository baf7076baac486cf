import { describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { resolveInputs } from '../../src/io/resolve.js';

describe('remote input paths', () => {
  it.each(['s3://bucket/data/*.jsonl', 'hf://datasets/org/name/train-*.parquet', 'https://example.org/a.jsonl.gz', 'gs://b/x.parquet'])(
    '%s is refused as not supported yet, not as a missing file',
    (path) => {
      const scheme = path.slice(0, path.indexOf('://') + 3);
      expect(() => resolveInputs([{ path }], '/tmp')).toThrow(TokenmixError);
      expect(() => resolveInputs([{ path }], '/tmp')).toThrow(
        `tokenmix: inputs[0].path "${path}" is a remote path (${scheme}); remote paths are not supported yet: download the files and give a local path or glob`,
      );
    },
  );

  it('a local name with a colon is still looked up locally', () => {
    expect(() => resolveInputs([{ path: 'C:/nope/a.jsonl' }], '/tmp')).toThrow('matches no file');
  });
});
