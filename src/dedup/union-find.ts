/**
 * Union-find over document indices 0..n−1 (SPEC §2 connected components), deterministic by
 * construction: a union always hangs the larger root under the smaller one, so the root of a
 * component is its smallest document index — the component id — whatever the order of the
 * unions. Path halving keeps finds short. Memory: one u32 per document.
 */
export class UnionFind {
  readonly parent: Uint32Array;

  /** `shared`: the parent array lives in a SharedArrayBuffer, for SharedUnionFind on worker threads. */
  constructor(size: number, shared = false) {
    this.parent = shared ? new Uint32Array(new SharedArrayBuffer(4 * size)) : new Uint32Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }

  get size(): number {
    return this.parent.length;
  }

  find(x: number): number {
    const parent = this.parent;
    while (parent[x] !== x) {
      const grand = parent[parent[x]];
      parent[x] = grand;
      x = grand;
    }
    return x;
  }

  /** Join the components of a and b; returns false when they were already one. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }

  connected(a: number, b: number): boolean {
    return this.find(a) === this.find(b);
  }

  /** Point every element straight at its root (the component id); returns the parent array. */
  flatten(): Uint32Array {
    const parent = this.parent;
    // Roots are smaller than their members, so one ascending pass resolves every chain.
    for (let i = 0; i < parent.length; i++) parent[i] = parent[parent[i]];
    return parent;
  }
}

/**
 * The same union-find used by several threads at once over one shared parent array (grouping's
 * range tasks: issue 9). Lock-free, in the manner of Anderson and Woll (1991): a union
 * compare-and-swaps the larger root's parent from itself to the smaller root, and retries if
 * another thread changed it first; path halving replaces a parent by its grandparent only if it
 * is still that parent. A parent is never larger than its child, so roots are still component
 * minima and the final components do not depend on the interleaving. `connected` may say "no"
 * for a pair another thread is joining at that moment (the caller then verifies an edge it
 * could have skipped), never "yes" for a pair that is not joined.
 */
export class SharedUnionFind {
  constructor(readonly parent: Uint32Array) {}

  find(x: number): number {
    const parent = this.parent;
    for (;;) {
      const p = Atomics.load(parent, x);
      if (p === x) return x;
      const grand = Atomics.load(parent, p);
      if (grand !== p) Atomics.compareExchange(parent, x, p, grand);
      x = grand;
    }
  }

  union(a: number, b: number): boolean {
    for (;;) {
      let ra = this.find(a);
      let rb = this.find(b);
      if (ra === rb) return false;
      if (ra > rb) [ra, rb] = [rb, ra];
      if (Atomics.compareExchange(this.parent, rb, rb, ra) === rb) return true;
    }
  }

  /**
   * With plain reads and no path halving (grouping asks it of every candidate: the atomic finds
   * took ~0.5 s of two threads at 1M documents). A read may be stale, but any parent it sees was
   * an ancestor of its child at some moment and is never larger, so the walk ends, and a root
   * both documents reach is a root they shared: components only grow. A stale "no" only costs a
   * verification, as above.
   */
  connected(a: number, b: number): boolean {
    return this.root(a) === this.root(b);
  }

  private root(x: number): number {
    const parent = this.parent;
    for (let p = parent[x]; p !== x; p = parent[x]) x = p;
    return x;
  }
}
