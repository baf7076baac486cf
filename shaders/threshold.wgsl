// Quality-score thresholding, pass 1 of 3 (SPEC §2): per row, keep = score >= tau[source];
// per-source counts, 64-bit token sums and the token-weighted score histogram in integer
// atomics (exact and order-independent); one bit per row in kept_bits; and each
// workgroup's kept count, whose prefix sum (threshold_scan.wgsl) lets the scatter
// (threshold_scatter.wgsl) place kept rows with popcounts instead of workgroup barriers
// (barriers are costly on CPU rasterizers such as llvmpipe).
//
// Scores and thresholds arrive as raw f32 bit patterns and are compared as ordered u32
// keys, so NaN tests and comparisons (subnormals included) never depend on how the GPU
// treats special floats. Only the histogram bin uses f32 arithmetic: a correctly rounded
// subtraction and product, matching the CPU's Math.fround (see src/cpu/threshold.ts).
struct Params {
  count: u32,        // rows in this dispatch
  grid_x: u32,       // workgroups per grid row (2D dispatch, src/gpu/dispatch.ts planGrid)
  num_sources: u32,
  bins: u32,
  hist_min: f32,
  hist_max: f32,
  hist_scale: f32,   // f32(bins / (max - min)), rounded once on the host
  _pad: u32,
}

// Per-source words in `stats`; 64-bit sums are (lo, hi) pairs. The histogram follows the
// num_sources * SOURCE_WORDS counters as (lo, hi) pairs at [source * bins + bin]. Input
// tokens are not summed here: they are the histogram row plus the NaN tokens (the host
// adds them), which saves an atomic per row.
const IN_DOCS = 0u;
const KEPT_DOCS = 1u;
const NAN_DOCS = 2u;
const KEPT_TOKENS = 3u;
const NAN_TOKENS = 5u;
const SOURCE_WORDS = 7u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<u32>;
@group(0) @binding(2) var<storage, read> sources: array<u32>;
@group(0) @binding(3) var<storage, read> tokens: array<u32>;
@group(0) @binding(4) var<storage, read> thresholds: array<u32>;
@group(0) @binding(5) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> kept_bits: array<u32>;
@group(0) @binding(7) var<storage, read_write> block_kept: array<u32>;

// A multiple of 32: each workgroup owns WORKGROUP_SIZE / 32 whole words of kept_bits.
override WORKGROUP_SIZE: u32 = 64u;
override WORDS_PER_GROUP: u32 = WORKGROUP_SIZE / 32u;

var<workgroup> group_bits: array<atomic<u32>, WORDS_PER_GROUP>;

// Exact 64-bit accumulation: a wrapped low word means exactly one carry.
fn add64(word: u32, value: u32) {
  let old = atomicAdd(&stats[word], value);
  if (old + value < old) {
    atomicAdd(&stats[word + 1u], 1u);
  }
}

fn is_nan(bits: u32) -> bool {
  return (bits & 0x7fffffffu) > 0x7f800000u;
}

// f32 bits -> u32 whose unsigned order is the numeric order; -0 is folded into +0.
fn ordered_key(bits: u32) -> u32 {
  var b = bits;
  if (b == 0x80000000u) {
    b = 0u;
  }
  if ((b & 0x80000000u) != 0u) {
    return ~b;
  }
  return b | 0x80000000u;
}

fn score_bin(bits: u32) -> u32 {
  let key = ordered_key(bits);
  if (key < ordered_key(bitcast<u32>(params.hist_min))) {
    return 0u;
  }
  if (key >= ordered_key(bitcast<u32>(params.hist_max))) {
    return params.bins - 1u;
  }
  let offset = bitcast<f32>(bits) - params.hist_min;
  let scaled = offset * params.hist_scale;
  // min() first: scaled may be +inf when max - min overflows f32.
  return u32(min(floor(scaled), f32(params.bins - 1u)));
}

// Accounts row i and returns 1 when it is kept.
fn classify(i: u32) -> u32 {
  let bits = scores[i];
  let source = sources[i];
  let row_tokens = tokens[i];
  let base = source * SOURCE_WORDS;
  atomicAdd(&stats[base + IN_DOCS], 1u);
  if (is_nan(bits)) {
    atomicAdd(&stats[base + NAN_DOCS], 1u);
    add64(base + NAN_TOKENS, row_tokens);
    return 0u;
  }
  let cell = params.num_sources * SOURCE_WORDS + 2u * (source * params.bins + score_bin(bits));
  add64(cell, row_tokens);
  if (ordered_key(bits) < ordered_key(thresholds[source])) {
    return 0u;
  }
  atomicAdd(&stats[base + KEPT_DOCS], 1u);
  add64(base + KEPT_TOKENS, row_tokens);
  return 1u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  let groups = (params.count + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  if (group >= groups) {
    return;
  }
  // group_bits starts zeroed: WGSL zero-initializes workgroup memory.
  let i = group * WORKGROUP_SIZE + lid;
  if (i < params.count && classify(i) == 1u) {
    atomicOr(&group_bits[lid / 32u], 1u << (lid % 32u));
  }
  workgroupBarrier();
  if (lid < WORDS_PER_GROUP) {
    kept_bits[group * WORDS_PER_GROUP + lid] = atomicLoad(&group_bits[lid]);
  }
  if (lid == 0u) {
    var kept = 0u;
    for (var w = 0u; w < WORDS_PER_GROUP; w++) {
      kept += countOneBits(atomicLoad(&group_bits[w]));
    }
    block_kept[group] = kept;
  }
}
