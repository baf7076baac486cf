// Token-weighted histogram (SPEC §3): C_i(v) += 1 for each token v of each retained document of
// source i. Counts are 64-bit (lo, hi) u32 pairs updated with integer atomics, so the result is exact
// and independent of scheduling; they stay resident across batches (src/kernels/histogram.ts).
//
// One invocation per token of a token chunk. The host uploads, per document overlapping the chunk,
// its first token relative to the chunk (doc_starts, doc_starts[0] = 0) and its source, or DROPPED
// when curation dropped it; the invocation finds its document by binary search. The count table of
// one dispatch covers the vocabulary range [vocab_start, vocab_start + vocab_width) only (the table
// is split by vocabulary when K×V×8 bytes exceed one storage binding); other ids are skipped.

struct Params {
  // Tokens in this chunk (count entry point) or cells to merge (merge entry point).
  item_count: u32,
  // Documents overlapping the chunk (doc_starts has one more entry).
  doc_count: u32,
  vocab_start: u32,
  vocab_width: u32,
  grid_x: u32,
}

const DROPPED: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> doc_starts: array<u32>;
@group(0) @binding(2) var<storage, read> doc_sources: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;
// Cell c = source * vocab_width + (id - vocab_start) owns counts[2c] (low word) and counts[2c+1] (high word).
@group(0) @binding(4) var<storage, read_write> counts: array<atomic<u32>>;
// merge only: (lo, hi) pairs to add to every cell of the table.
@group(0) @binding(5) var<storage, read> deltas: array<u32>;

override WORKGROUP_SIZE: u32 = 256u;

fn item_index(wg: vec3u, lid: u32) -> u32 {
  return (wg.x + wg.y * params.grid_x) * WORKGROUP_SIZE + lid;
}

// Largest d in [lo, hi] with doc_starts[d] <= token: the document owning the token (empty
// documents share their start with the next one and are skipped by taking the largest).
fn document_of(token: u32, first: u32, last: u32) -> u32 {
  var lo = first;
  var hi = last;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (doc_starts[mid] <= token) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return lo;
}

// 64-bit add of (lo, hi) to a cell. atomicAdd returns a distinct old value to each caller, so
// exactly one caller observes each wrap of the low word and carries it.
fn add64(cell: u32, lo: u32, hi: u32) {
  let old = atomicAdd(&counts[2u * cell], lo);
  let carry = select(0u, 1u, old + lo < old);
  if (hi + carry != 0u) {
    atomicAdd(&counts[2u * cell + 1u], hi + carry);
  }
}

// Documents owning the first and last token of this workgroup: the workgroup's tokens are
// contiguous, so each invocation then searches a few documents instead of the whole chunk.
var<workgroup> group_docs: vec2u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn count(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let first_token = (wg.x + wg.y * params.grid_x) * WORKGROUP_SIZE;
  if (first_token >= params.item_count) {
    return; // the whole workgroup is past the end (2D grids overshoot)
  }
  if (lid == 0u) {
    let last_token = min(first_token + WORKGROUP_SIZE, params.item_count) - 1u;
    let first_doc = document_of(first_token, 0u, params.doc_count - 1u);
    group_docs = vec2u(first_doc, document_of(last_token, first_doc, params.doc_count - 1u));
  }
  let docs = workgroupUniformLoad(&group_docs);
  let token = first_token + lid;
  if (token >= params.item_count) {
    return;
  }
  let source = doc_sources[document_of(token, docs.x, docs.y)];
  let column = ids[token] - params.vocab_start; // wraps to a huge value below the range
  if (source == DROPPED || column >= params.vocab_width) {
    return;
  }
  add64(source * params.vocab_width + column, 1u, 0u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn merge(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cell = item_index(wg, lid);
  if (cell >= params.item_count) {
    return;
  }
  add64(cell, deltas[2u * cell], deltas[2u * cell + 1u]);
}
