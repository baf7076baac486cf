/**
 * The step runner owns the accounting: hand-built records with known fates, and steps that
 * misbehave (undeclared reasons, double drops, records lost behind the runner's back).
 * Expected counts are written out by hand from the records below.
 */
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/steps/accounting.js';
import { StepRunner, type PieceRequest, type RecordShard } from '../../src/steps/runner.js';
import { dropOf, fateOf, KEPT, QUARANTINED, STAGES } from '../../src/steps/stages.js';
import type { Step } from '../../src/steps/step.js';

interface Doc {
  source: string;
  tokens: number;
  id: string;
}

// Shard 0: a(web,10) b(web,20) c(code,5); shard 1: d(web,7), a line that holds no record, e(code,1).
const docs: (Doc | null)[][] = [
  [{ id: 'a', source: 'web', tokens: 10 }, { id: 'b', source: 'web', tokens: 20 }, { id: 'c', source: 'code', tokens: 5 }],
  [{ id: 'd', source: 'web', tokens: 7 }, null, { id: 'e', source: 'code', tokens: 1 }],
];
function shards(batchSize: number, reads?: number[]): RecordShard<Doc>[] {
  return docs.map((records, s) => ({
    length: records.length,
    *batches() {
      if (reads) reads[s]++;
      for (let i = 0; i < records.length; i += batchSize) yield records.slice(i, i + batchSize);
    },
  }));
}

/** Heuristics drops b; exact dedup drops d at the end; contamination counts c and e. */
function steps(order: string[]): Step<Doc>[] {
  return [
    {
      stage: 'heuristics',
      judge: (batch) => batch.records.forEach((r, k) => r.id === 'b' && batch.drop(k, 'too_few_words')),
    },
    {
      stage: 'contamination',
      counters: ['eval_like'],
      judge: (batch) => batch.records.forEach((r, k) => r.source === 'code' && batch.count(k, 'eval_like')),
    },
    {
      stage: 'exact_dedup',
      judge: (batch) => batch.records.forEach((r) => order.push(r.id)),
      finish: (drop) => drop(1, 0, 'duplicate'),
    },
  ];
}

function ledgerOf(runner: StepRunner<Doc>): Ledger {
  const ledger = new Ledger(runner.stages);
  docs.forEach((records, s) => records.forEach((r, i) => r && ledger.add(r.source, r.tokens, runner.fates[s][i])));
  return ledger;
}

describe('step runner', () => {
  it.each([1, 2, 3])('fates, per-stage counts per source and counters (batches of %i)', async (size) => {
    const order: string[] = [];
    const runner = new StepRunner(shards(size));
    await runner.run(steps(order));
    expect(order).toEqual(['a', 'c', 'd', 'e']);
    expect(Array.from(runner.fates[0])).toEqual([KEPT, fateOf('heuristics', 'too_few_words'), KEPT]);
    expect(Array.from(runner.fates[1])).toEqual([fateOf('exact_dedup', 'duplicate'), QUARANTINED, KEPT]);
    const [heuristics, contamination, exact] = runner.report(ledgerOf(runner), ['code', 'web']);
    expect(heuristics).toMatchObject({ docs_in: 5, docs_out: 4, tokens_in: 43, tokens_out: 23, dropped: { too_few_words: { docs: 1, tokens: 20 } } });
    expect(heuristics.per_source.web).toMatchObject({ docs_in: 3, docs_out: 2, tokens_in: 37, tokens_out: 17 });
    expect(contamination).toMatchObject({ docs_in: 4, docs_out: 4, tokens_in: 23, tokens_out: 23 });
    expect(exact).toMatchObject({ docs_in: 4, docs_out: 3, tokens_in: 23, tokens_out: 16, dropped: { duplicate: { docs: 1, tokens: 7 } } });
    expect(exact.per_source.code).toMatchObject({ docs_in: 2, docs_out: 2, tokens_in: 6, tokens_out: 6 });
    const evalLike = runner.counter('contamination', 'eval_like')!;
    expect(evalLike.total().in).toEqual({ docs: 2, tokens: 6 });
  });

  it('reads the records once per pass: an observing step starts a pass, a finishing step ends one', async () => {
    const reads = [0, 0];
    const observed: string[] = [];
    const runner = new StepRunner(shards(2, reads));
    const quality: Step<Doc> = { stage: 'quality', observe: (records) => void observed.push(...records.map((r) => r.id)) };
    // Pass 1: heuristics + contamination + exact (finish); pass 2: quality's observe, pass 3: its judge.
    await runner.run([...steps([]), quality]);
    expect(reads).toEqual([3, 3]);
    // Quality observes what survived the first pass (b and d are gone, the empty line never enters).
    expect(observed).toEqual(['a', 'c', 'e']);
    expect(runner.stages).toEqual(['heuristics', 'contamination', 'exact_dedup', 'quality']);
  });

  it('a finishing step is told which records are still kept: exactly those that entered it', async () => {
    const seen: string[] = [];
    const heuristics: Step<Doc> = { stage: 'heuristics', judge: (batch) => batch.records.forEach((r, k) => r.id === 'b' && batch.drop(k, 'too_few_words')) };
    const exact: Step<Doc> = {
      stage: 'exact_dedup',
      finish: (drop, kept) => {
        docs.forEach((records, s) => records.forEach((r, i) => kept(s, i) && seen.push(r!.id)));
        drop(0, 2, 'duplicate');
      },
    };
    const runner = new StepRunner(shards(2));
    await runner.run([heuristics, exact]);
    // b was dropped before the step and the empty line never entered it.
    expect(seen).toEqual(['a', 'c', 'd', 'e']);
    expect(Array.from(runner.fates[0])).toEqual([KEPT, fateOf('heuristics', 'too_few_words'), fateOf('exact_dedup', 'duplicate')]);
    const [, report] = runner.report(ledgerOf(runner), ['code', 'web']);
    expect(report).toMatchObject({ docs_in: 4, docs_out: 3, tokens_in: 23, tokens_out: 18 });
  });

  it('a judging pass run piece by piece elsewhere (judgePiece) gives the fates and reports of one thread', async () => {
    // Steps that can be rebuilt from a spec; the "other thread" is a runner of its own per piece.
    const build = (spec: unknown): Step<Doc> => {
      if (spec === 'heuristics') return { stage: 'heuristics', judge: (batch) => batch.records.forEach((r, k) => r.id === 'b' && batch.drop(k, 'too_few_words')), remote: () => 'heuristics' };
      return { stage: 'contamination', counters: ['eval_like'], judge: (batch) => batch.records.forEach((r, k) => r.source === 'code' && batch.count(k, 'eval_like')), remote: () => 'contamination' };
    };
    const requests: PieceRequest[] = [];
    const judgePiece = (request: PieceRequest) => {
      requests.push(request);
      const records = docs[request.shard].slice(request.first, request.first + request.count);
      const piece = new StepRunner<Doc>([{ length: request.count, batches: () => [records] }]);
      return piece.judgeHere(request.steps.map(build), request.fates);
    };
    // Shard 0 in pieces of 1 and 2 records, shard 1 in one piece.
    const pieces = [[{ first: 0, count: 1 }, { first: 1, count: 2 }], [{ first: 0, count: 3 }]];
    const inPieces = new StepRunner(shards(2).map((shard, s) => ({ ...shard, pieces: pieces[s] })), judgePiece);
    await inPieces.run(['heuristics', 'contamination'].map(build));
    const here = new StepRunner(shards(2));
    await here.run(['heuristics', 'contamination'].map(build));
    expect(requests.map((r) => [r.shard, r.first, r.count, r.steps])).toEqual([[0, 0, 1, ['heuristics', 'contamination']], [0, 1, 2, ['heuristics', 'contamination']], [1, 0, 3, ['heuristics', 'contamination']]]);
    expect(inPieces.fates.map((f) => Array.from(f))).toEqual(here.fates.map((f) => Array.from(f)));
    expect(Array.from(inPieces.fates[1])).toEqual([KEPT, QUARANTINED, KEPT]);
    expect(inPieces.report(ledgerOf(inPieces), ['code', 'web'])).toEqual(here.report(ledgerOf(here), ['code', 'web']));
    expect(inPieces.counter('contamination', 'eval_like')!.total().in).toEqual({ docs: 2, tokens: 6 });
    // A step without a spec keeps its pass here.
    const local = new StepRunner(shards(2).map((shard, s) => ({ ...shard, pieces: pieces[s] })), judgePiece);
    requests.length = 0;
    await local.run([{ stage: 'heuristics', judge: () => {} }]);
    expect(requests).toEqual([]);
  });

  it('an observing step with remoteObserve is observed piece by piece (observePiece), its results merged in piece order', async () => {
    // Quality observes the tokens of the records still kept after heuristics drops b.
    const heuristics: Step<Doc> = { stage: 'heuristics', judge: (batch) => batch.records.forEach((r, k) => r.id === 'b' && batch.drop(k, 'too_few_words')) };
    const quality = (into: number[]): Step<Doc> => ({
      stage: 'quality',
      observe: (records) => void into.push(...records.map((r) => r.tokens)),
      remoteObserve: (shard, first, count) => ({ shard, first, count }),
      observed: (result) => void into.push(...(result as number[])),
    });
    const observePiece = (request: PieceRequest) => {
      const records = docs[request.shard].slice(request.first, request.first + request.count);
      return Promise.resolve(records.flatMap((r, i) => (r !== null && request.fates[i] === KEPT ? [r.tokens] : [])));
    };
    const pieces = [[{ first: 0, count: 2 }, { first: 2, count: 1 }], [{ first: 0, count: 3 }]];
    const remote: number[] = [];
    await new StepRunner(shards(2).map((shard, s) => ({ ...shard, pieces: pieces[s] })), undefined, observePiece).run([heuristics, quality(remote)]);
    const here: number[] = [];
    await new StepRunner(shards(2)).run([heuristics, quality(here)]);
    // a, c | d, e (the empty line never enters; b was dropped).
    expect(remote).toEqual([10, 5, 7, 1]);
    expect(remote).toEqual(here);
  });

  it('refuses a reason the stage does not declare, and a record dropped twice', async () => {
    const undeclared: Step<Doc> = { stage: 'quality', judge: (batch) => batch.drop(0, 'duplicate') };
    await expect(new StepRunner(shards(3)).run([undeclared])).rejects.toThrow(/stage quality declares no drop reason "duplicate"/);
    const twice: Step<Doc> = { stage: 'exact_dedup', judge: () => {}, finish: (drop) => { drop(0, 0, 'duplicate'); drop(0, 0, 'duplicate'); } };
    await expect(new StepRunner(shards(3)).run([twice])).rejects.toThrow(/already dropped by exact_dedup/);
    await expect(new StepRunner(shards(3)).run([undeclared, undeclared])).rejects.toThrow(/a stage runs once per runner/);
    const counter: Step<Doc> = { stage: 'contamination', judge: (batch) => batch.count(0, 'other') };
    await expect(new StepRunner(shards(3)).run([counter])).rejects.toThrow(/declares no counter "other"/);
  });

  it('the report refuses fates that disagree with what the steps saw', async () => {
    const runner = new StepRunner(shards(3));
    await runner.run(steps([]));
    runner.fates[0][0] = fateOf('exact_dedup', 'duplicate'); // a drop no step made
    expect(() => runner.report(ledgerOf(runner), ['code', 'web'])).toThrow(/drops for "duplicate" do not match the fates/);
    runner.fates[0][0] = KEPT;
    runner.fates[0][2] = QUARANTINED; // a record lost before any stage
    expect(() => runner.report(ledgerOf(runner), ['code', 'web'])).toThrow(/reached the ledger|entered the step/);
  });

  it('a shard that yields fewer records than it announced is an error', async () => {
    const short: RecordShard<Doc> = { length: 4, batches: () => [docs[0]] };
    await expect(new StepRunner([short]).run(steps([]))).rejects.toThrow(/yielded 3 records, expected 4/);
  });
});

describe('stages', () => {
  it('every declared (stage, reason) has its own fate, and the fate names it back', () => {
    const seen = new Set<number>();
    for (const stage of STAGES) {
      for (const reason of stage.reasons ?? ['duplicate-id', 'invalid-json']) {
        const fate = fateOf(stage.name, reason);
        expect(dropOf(fate)).toEqual({ stage: stage.name, reason: stage.reasons === null ? null : reason });
        seen.add(fate);
      }
    }
    expect(seen.size).toBe(STAGES.reduce((n, s) => n + (s.reasons?.length ?? 1), 0));
    expect(seen.has(KEPT)).toBe(false);
    expect(dropOf(KEPT)).toBeNull();
  });
});
