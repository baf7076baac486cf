/**
 * Union-find over document indices 0..n−1 (SPEC §2 connected components), deterministic by
 * construction: a union always hangs the larger root under the smaller one, so the root of a
 * component is its smallest document index — the component id — whatever the order of the
 * unions. Path halving keeps finds short. Memory: one u32 per document.
 */
export class UnionFind {
  readonly parent: Uint32Array;

  constructor(size: number) {
    this.parent = new Uint32Array(size);
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
