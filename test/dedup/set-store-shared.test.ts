/**
 * loadStoreValues: when the shards' values files fit the budget they are read once into one
 * SharedArrayBuffer and every VectorStore over the index hands out views of it. Expected vectors
 * are the ones this test generated and wrote (little-endian u32, written through a DataView).
 */
import { endianness } from 'node:os';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStoreValues, storeIndex, VectorStore, type StoreShard } from '../../src/dedup/set-store.js';
import { mulberry32 } from '../../fixtures/random.js';
import { tempDir } from './helpers.js';

const dir = tempDir('set-store-shared');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded random vectors, about a quarter of them empty. */
function randomVectors(seed: number, documents: number, maxLength: number): Uint32Array[] {
  const random = mulberry32(seed);
  return Array.from({ length: documents }, () => {
    const length = random() < 0.25 ? 0 : 1 + Math.floor(random() * maxLength);
    return Uint32Array.from({ length }, () => Math.floor(random() * 4294967296) >>> 0);
  });
}

/** Writes a shard's values file (vectors concatenated, u32 little-endian) and returns the shard. */
function writeShard(name: string, vectors: Uint32Array[]): StoreShard {
  const total = vectors.reduce((n, v) => n + v.length, 0);
  const bytes = new Uint8Array(4 * total);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const vector of vectors) {
    for (const value of vector) {
      view.setUint32(at, value, true);
      at += 4;
    }
  }
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, lengths: Uint32Array.from(vectors, (v) => v.length) };
}

interface Fixture {
  shards: StoreShard[];
  /** Every document's vector, in global document order. */
  vectors: Uint32Array[];
  totalBytes: number;
}

function fixture(prefix: string, perShard: Uint32Array[][]): Fixture {
  const shards = perShard.map((vectors, s) => writeShard(`${prefix}-${s}.values.bin`, vectors));
  const vectors = perShard.flat();
  return { shards, vectors, totalBytes: 4 * vectors.reduce((n, v) => n + v.length, 0) };
}

/** Three shards of different sizes, with empty vectors, including at shard edges. */
function threeShards(prefix: string): Fixture {
  const a = randomVectors(1, 40, 30);
  const b = randomVectors(2, 7, 300);
  const c = randomVectors(3, 120, 5);
  a[0] = new Uint32Array(0);
  b[b.length - 1] = new Uint32Array(0);
  c[0] = new Uint32Array(0);
  return fixture(prefix, [a, b, c]);
}

describe('loadStoreValues', () => {
  it('the machine stores u32 little-endian (the files are read as native Uint32Array)', () => {
    expect(endianness()).toBe('LE');
  });

  it('a budget below the total: returns false and leaves values unset', async () => {
    const { shards, vectors, totalBytes } = threeShards('under');
    expect(totalBytes).toBeGreaterThan(0);
    const index = storeIndex(shards);
    expect(await loadStoreValues(index, totalBytes - 1)).toBe(false);
    expect(index.values).toBeUndefined();
    expect(await loadStoreValues(index, 0)).toBe(false);
    expect(index.values).toBeUndefined();
    // The store still reads every vector from the files.
    const store = new VectorStore(index, 0);
    vectors.forEach((vector, doc) => expect(Array.from(store.get(doc))).toEqual(Array.from(vector)));
    store.close();
  });

  it.each([
    ['exactly the total', 0],
    ['more than the total', 1],
    ['far more than the total', 1 << 30],
  ])('a budget of %s: loads every vector into one SharedArrayBuffer', async (_, extra) => {
    const { shards, vectors, totalBytes } = threeShards(`fit-${extra}`);
    const index = storeIndex(shards);
    expect(await loadStoreValues(index, totalBytes + extra)).toBe(true);
    expect(index.values).toBeDefined();
    expect(index.values!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(index.values!.byteLength).toBe(totalBytes);
    // The whole buffer is the vectors laid end to end.
    expect(Array.from(index.values!)).toEqual(vectors.flatMap((v) => Array.from(v)));

    const shared = new VectorStore(index, 0);
    const fromFiles = new VectorStore(storeIndex(shards), 0);
    expect(shared.documents).toBe(vectors.length);
    vectors.forEach((vector, doc) => {
      const got = shared.get(doc);
      expect(Array.from(got)).toEqual(Array.from(vector));
      expect(got.buffer).toBe(index.values!.buffer); // a view, not a copy
      expect(shared.length(doc)).toBe(vector.length);
      expect(Array.from(fromFiles.get(doc))).toEqual(Array.from(got));
    });
    expect(shared.reads).toBe(0);
    expect(fromFiles.reads).toBe(vectors.filter((v) => v.length > 0).length);
    shared.close();
    fromFiles.close();
  });

  it('once loaded, stores do not touch the files (they may even be overwritten)', async () => {
    const { shards, vectors, totalBytes } = threeShards('memory');
    const index = storeIndex(shards);
    expect(await loadStoreValues(index, totalBytes)).toBe(true);
    for (const shard of shards) writeFileSync(shard.path, new Uint8Array(0));
    const store = new VectorStore(index, 0);
    vectors.forEach((vector, doc) => expect(Array.from(store.get(doc))).toEqual(Array.from(vector)));
    // In random order too.
    const random = mulberry32(11);
    for (let i = 0; i < 500; i++) {
      const doc = Math.floor(random() * vectors.length);
      expect(Array.from(store.get(doc))).toEqual(Array.from(vectors[doc]));
    }
    store.close();
  });

  it('a shard with no documents and a shard of only empty vectors', async () => {
    const a = randomVectors(21, 15, 50);
    const c = [new Uint32Array(0), new Uint32Array(0)];
    const d = randomVectors(22, 9, 50);
    const { shards, vectors, totalBytes } = fixture('gaps', [a, [], c, d]);
    const index = storeIndex(shards);
    expect(await loadStoreValues(index, totalBytes)).toBe(true);
    const shared = new VectorStore(index, 0);
    const fromFiles = new VectorStore(storeIndex(shards), 0);
    expect(shared.documents).toBe(a.length + c.length + d.length);
    vectors.forEach((vector, doc) => {
      expect(Array.from(shared.get(doc))).toEqual(Array.from(vector));
      expect(Array.from(fromFiles.get(doc))).toEqual(Array.from(vector));
    });
    shared.close();
    fromFiles.close();
  });

  it('a store whose vectors are all empty (0 bytes) loads with a budget of 0', async () => {
    const { shards, vectors, totalBytes } = fixture('all-empty', [[new Uint32Array(0)], [new Uint32Array(0), new Uint32Array(0)]]);
    expect(totalBytes).toBe(0);
    const index = storeIndex(shards);
    expect(await loadStoreValues(index, 0)).toBe(true);
    expect(index.values!.buffer).toBeInstanceOf(SharedArrayBuffer);
    const store = new VectorStore(index, 0);
    vectors.forEach((_, doc) => expect(store.get(doc).length).toBe(0));
    store.close();
  });
});

describe('VectorStore.pin', () => {
  it('serves exactly the written vectors of the pinned documents (sorted, with repeats, across shards, with gaps large and small), then reads again after unpin', () => {
    const f = threeShards('pin');
    // A shard of long vectors, so some neighbours are more than the read-together gap apart.
    const long = fixture('pin-long', [randomVectors(9, 30, 700)]);
    for (const { shards, vectors } of [f, { shards: [...f.shards, ...long.shards], vectors: [...f.vectors, ...long.vectors] }]) {
      const store = new VectorStore(storeIndex(shards), 1 << 20);
      const random = mulberry32(vectors.length);
      for (let round = 0; round < 6; round++) {
        const docs = Uint32Array.from({ length: 1 + Math.floor(random() * vectors.length) }, () => Math.floor(random() * vectors.length)).sort();
        const readsBefore = store.reads;
        store.pin(docs);
        const pinReads = store.reads - readsBefore;
        expect(pinReads).toBeLessThanOrEqual(new Set(docs).size);
        for (const doc of docs) expect(Array.from(store.get(doc)), `round ${round}, doc ${doc}`).toEqual(Array.from(vectors[doc]));
        // Served from the pin: no read per vector.
        expect(store.reads - readsBefore).toBe(pinReads);
        store.unpin();
      }
      // Unpinned, a document is read from its file again, and equals the same vector.
      const readsBefore = store.reads;
      const doc = vectors.findIndex((v) => v.length > 0);
      expect(Array.from(store.get(doc))).toEqual(Array.from(vectors[doc]));
      expect(store.reads).toBe(readsBefore + 1);
      store.close();
    }
  });

  it('a pin of every document of a shard takes one read; a pin of nothing takes none', () => {
    const f = fixture('pin-one', [randomVectors(4, 50, 20)]);
    const store = new VectorStore(storeIndex(f.shards), 1 << 20);
    store.pin(Uint32Array.from(f.vectors.keys()));
    expect(store.reads).toBe(1);
    store.pin([]);
    expect(store.reads).toBe(1);
    store.close();
  });
});
