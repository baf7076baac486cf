import { describe, expect, it } from 'vitest';
import { parseConfig, scoreField } from '../src/pipeline/config.js';

const base = { inputs: [{ path: 'a.jsonl' }] };

describe('config', () => {
  it('fills defaults', () => {
    const c = parseConfig(base);
    expect(c.fields).toEqual({ id: 'id', source: 'source', text: 'text', quality: [] });
    expect(c.tokenizer).toBe('words');
    expect(c.on_error).toBe('fail');
    expect(c.dedup).toEqual({ exact: false, keep: 'first', near: null });
    expect(parseConfig({ ...base, dedup: { near: true } }).dedup.near?.cluster).toBe('cover');
    expect(parseConfig({ ...base, dedup: { near: { cluster: 'components' } } }).dedup.near?.cluster).toBe('components');
  });
  it('best-quality dedup needs a score field, and uses fields.quality without a filter', () => {
    expect(() => parseConfig({ ...base, dedup: { exact: true, keep: 'best-quality' } })).toThrow(/"best-quality" needs a score/);
    const c = parseConfig({ ...base, fields: { quality: 'q' }, dedup: { exact: true, keep: 'best-quality' } });
    expect(scoreField(c)).toBe('q');
    const f = parseConfig({ ...base, filters: { quality: { field: 'edu', thresholds: {} } }, fields: { quality: ['q'] } });
    expect(scoreField(f)).toBe('edu');
    expect(f.fields.quality).toEqual(['q', 'edu']);
  });
  it.each([
    [{ ...base, filtres: {} }, /unknown key "filtres"/],
    [{ ...base, on_error: 'skip' }, /"on_error" must be "fail" or "quarantine"/],
    [{ ...base, seed: -1 }, /"seed" must be an integer >= 0/],
    [{ inputs: [] }, /"inputs" must be a non-empty list/],
    [{ ...base, filters: { quality: { field: 'q', top_fraction: { web: 1.5 } } } }, /top_fraction.web" must be a number/],
    [{ ...base, dedup: { near: { threshold: 2 } } }, /dedup.near.threshold" must be a number >= 0 <= 1/],
    [{ ...base, dedup: { near: { cluster: 'chains' } } }, /"dedup.near.cluster" must be "cover" or "components" \(got "chains"\)/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(message);
  });
});
