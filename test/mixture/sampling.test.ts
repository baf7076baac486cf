/** SPEC §6 sampling plan: prefix tracking property, resumability, determinism, epochs, errors. */
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import {
  createSamplingPlan,
  deriveSeed,
  planEntries,
  seededPermutation,
  splitMix32,
  planSlice,
  PlanCursor,
  initialPlanState,
  type PlanState,
  summarizePlan,
  targetTokens,
  type PlanEntry,
  type SamplingPlanInput,
} from '../../src/mixture/index.js';

/** Seeded random plan inputs: 1–6 sources (some empty docs, some zero weights), 1–3 stages. */
function randomInput(seed: number): SamplingPlanInput {
  const random = rng(seed);
  const numSources = 1 + random.int(6);
  const sources = Array.from({ length: numSources }, (_, i) => ({
    name: `s${i}`,
    docTokens: Array.from({ length: 1 + random.int(8) }, () => (random.next() < 0.1 ? 0 : 1 + random.int(random.next() < 0.5 ? 5 : 300))),
  }));
  const numStages = 1 + random.int(3);
  const raw = Array.from({ length: numStages }, () => random.next() + 0.01);
  const total = raw.reduce((a, b) => a + b, 0);
  const fractions = raw.map((f) => f / total);
  fractions[numStages - 1] = 1 - fractions.slice(0, -1).reduce((a, b) => a + b, 0);
  const schedule = fractions.map((fraction) => ({
    fraction,
    weights: Object.fromEntries(sources.map((s) => [s.name, random.next() < 0.3 ? 0 : random.next()])),
  }));
  return { sources, budgetTokens: 1 + random.int(4000), schedule, seed };
}

const letters = (entries: PlanEntry[]) => entries.map((e) => 'AB'[e.source]).join('');

describe('sampling plan', () => {
  it('hand-worked: unit documents alternate by weight (WF²Q order)', () => {
    const unit = (n: number) => new Array(n).fill(1);
    const half = createSamplingPlan({
      sources: [{ name: 'a', docTokens: unit(3) }, { name: 'b', docTokens: unit(3) }],
      budgetTokens: 6,
      schedule: [{ fraction: 1, weights: { a: 1, b: 1 } }],
      seed: 1,
    });
    expect(letters([...planEntries(half)])).toBe('ABABAB');
    // w = (2/3, 1/3), by hand: T=0 both eligible, fluid finish A 1.5 < B 3 → A; T=1 only B eligible
    // (A holds 1 > 2/3) → B; T=2 only A → A; T=3 both on target, finish A 4.5 < B 6 → A; T=4 → B; T=5 → A.
    const twoThirds = createSamplingPlan({
      sources: [{ name: 'a', docTokens: unit(4) }, { name: 'b', docTokens: unit(2) }],
      budgetTokens: 6,
      schedule: [{ fraction: 1, weights: { a: 2, b: 1 } }],
      seed: 1,
    });
    expect(letters([...planEntries(twoThirds)])).toBe('ABAABA');
  });

  it('at every prefix each source is within one document of its target share (property, seeded)', () => {
    let checkedPrefixes = 0;
    let worstExcess = -Infinity; // max over prefixes and sources of |t_i - target_i(T)| - maxDocTokens
    let inconsistent = 0;
    for (let seed = 0; seed < 400; seed++) {
      const plan = createSamplingPlan(randomInput(seed));
      const held = new Float64Array(plan.sourceNames.length);
      let total = 0;
      for (const entry of planEntries(plan)) {
        if (entry.tokensBefore !== total) inconsistent++;
        held[entry.source] += entry.tokens;
        total += entry.tokens;
        for (let i = 0; i < held.length; i++) {
          worstExcess = Math.max(worstExcess, Math.abs(held[i] - targetTokens(plan, i, total)) - plan.maxDocTokens);
        }
        checkedPrefixes++;
      }
      // The plan ends at the first document that reaches the budget.
      if (total < plan.budgetTokens) inconsistent++;
    }
    expect(inconsistent).toBe(0);
    expect(worstExcess).toBeLessThanOrEqual(1e-9);
    expect(checkedPrefixes).toBeGreaterThan(10_000);
  });

  it('targets follow the stages: a late anneal source gets its share only in the late stage', () => {
    const plan = createSamplingPlan({
      sources: [
        { name: 'web', docTokens: [10, 20, 30, 40] },
        { name: 'math', docTokens: [5, 15, 25] },
      ],
      budgetTokens: 1000,
      schedule: [
        { fraction: 0.8, weights: { web: 1, math: 0 } },
        { fraction: 0.2, weights: { web: 0, math: 1 }, name: 'anneal' },
      ],
      seed: 3,
    });
    const entries = [...planEntries(plan)];
    expect(entries.filter((e) => e.stage === 0).every((e) => e.source === 0)).toBe(true);
    const lateMath = entries.filter((e) => e.stage === 1 && e.source === 1).reduce((sum, e) => sum + e.tokens, 0);
    const lateTotal = entries.filter((e) => e.stage === 1).reduce((sum, e) => sum + e.tokens, 0);
    expect(lateTotal - lateMath).toBeLessThanOrEqual(40); // web only repays a lag of at most one document
    entries.forEach((e) => expect(e.stage).toBe(e.tokensBefore < 800 ? 0 : 1));
  });

  it('planSlice and planEntries(from) give exactly the entries of the full plan', () => {
    for (let seed = 0; seed < 40; seed++) {
      const plan = createSamplingPlan(randomInput(1000 + seed));
      const full = [...planEntries(plan)];
      const random = rng(seed);
      for (let k = 0; k < 5; k++) {
        const from = random.int(full.length + 2);
        const count = random.int(20);
        expect(planSlice(plan, from, count)).toEqual(full.slice(from, from + count));
      }
      expect([...planEntries(plan, 3)]).toEqual(full.slice(3));
    }
    expect(() => planSlice(createSamplingPlan(randomInput(1)), -1, 2)).toThrow(/fromIndex and count/);
  });

  it('a checkpointed state resumes the plan exactly, without replaying the prefix', () => {
    for (let seed = 0; seed < 60; seed++) {
      const plan = createSamplingPlan(randomInput(2000 + seed));
      const full = [...planEntries(plan)];
      const random = rng(seed);
      const cut = random.int(full.length + 1);
      const first = new PlanCursor(plan);
      for (let k = 0; k < cut; k++) first.next();
      // Through JSON, as a marker file stores it.
      const state: PlanState = JSON.parse(JSON.stringify(first.state()));
      expect(state.index).toBe(cut);
      const resumed = new PlanCursor(plan, state);
      const rest: PlanEntry[] = [];
      for (let entry = resumed.next(); entry !== null; entry = resumed.next()) rest.push(entry);
      expect(rest).toEqual(full.slice(cut));
      // One scheduling step per entry produced (+0 for the final null): no replay of the prefix.
      expect(resumed.steps).toBe(full.length - cut);
      expect(planSlice(plan, state, 3)).toEqual(full.slice(cut, cut + 3));
      expect([...planEntries(plan, state)]).toEqual(full.slice(cut));
    }
    const plan = createSamplingPlan(randomInput(7));
    const state = initialPlanState(plan);
    expect(() => new PlanCursor(plan, { ...state, epoch: [...state.epoch, 0] })).toThrow(/checkpoint of another plan/);
  });

  it('is deterministic for a seed; each epoch is a fresh permutation of the non-empty documents', () => {
    const input: SamplingPlanInput = {
      sources: [
        { name: 'small', docTokens: [3, 0, 4, 5, 6, 7, 8] },
        { name: 'big', docTokens: Array.from({ length: 50 }, (_, d) => 20 + (d % 7)) },
      ],
      budgetTokens: 2000,
      schedule: [{ fraction: 1, weights: { small: 1, big: 1 } }],
      seed: 42,
    };
    const plan = createSamplingPlan(input);
    const entries = [...planEntries(plan)];
    expect([...planEntries(createSamplingPlan(input))]).toEqual(entries);
    expect(plan.emptyDocs).toEqual([1, 0]);
    const small = entries.filter((e) => e.source === 0);
    const epochs = Math.max(...small.map((e) => e.epoch));
    expect(epochs).toBeGreaterThanOrEqual(3);
    const orders: string[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const docs = small.filter((e) => e.epoch === epoch).map((e) => e.doc);
      expect([...docs].sort((a, b) => a - b)).toEqual([0, 2, 3, 4, 5, 6]); // empty doc 1 never planned
      orders.push(docs.join(','));
    }
    expect(new Set(orders).size).toBeGreaterThan(1);
    const reseeded = [...planEntries(createSamplingPlan({ ...input, seed: 43 }))];
    expect(reseeded.map((e) => `${e.source}:${e.doc}`)).not.toEqual(entries.map((e) => `${e.source}:${e.doc}`));
    const summary = summarizePlan(plan);
    expect(summary.entries).toBe(entries.length);
    expect(summary.perSource[0].epochsStarted).toBe(epochs + 1);
  });

  it('rejects bad inputs with clear errors', () => {
    const base = randomInput(5);
    expect(() => createSamplingPlan({ ...base, sources: [{ name: 'a', docTokens: [0, 0] }] })).toThrow(/mixture undefined/);
    expect(() => createSamplingPlan({ ...base, sources: [{ name: 'a', docTokens: [1.5] }] })).toThrow(/document 0 has token count 1.5/);
    expect(() => createSamplingPlan({ ...base, seed: -1 })).toThrow(/seed/);
    expect(() => createSamplingPlan({ ...base, budgetTokens: 0 })).toThrow(/budget_tokens/);
    expect(() => createSamplingPlan({ ...base, schedule: [{ fraction: 0.5, weights: {} }] })).toThrow(/sum to 1/);
  });
});

describe('seeded PRNG of the plan', () => {
  it('permutations are permutations, reproducible, and differ across derived seeds', () => {
    for (const n of [0, 1, 2, 7, 1000]) {
      const order = seededPermutation(n, 9);
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect([...seededPermutation(n, 9)]).toEqual([...order]);
    }
    expect([...seededPermutation(50, deriveSeed(1, 0, 0))]).not.toEqual([...seededPermutation(50, deriveSeed(1, 0, 1))]);
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
  });

  it('below(n) stays in range and is roughly uniform', () => {
    const random = splitMix32(123);
    const counts = new Array(6).fill(0);
    for (let k = 0; k < 60_000; k++) counts[random.below(6)]++;
    counts.forEach((count) => expect(Math.abs(count - 10_000)).toBeLessThan(500)); // > 5 sigma
    expect(() => random.below(0)).toThrow(RangeError);
  });
});
