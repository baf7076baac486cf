// Mixture cross-entropy losses for a batch of candidate mixtures (SPEC §4, §5):
//   L[m][e] = -sum_v evals[e][v] * log(max(q_m(v), 1e-12)),  q_m(v) = sum_k weights[m][k] * P[k][v].
//
// One workgroup per (vocabulary tile, block of CANDIDATES candidates, block of EVALS evals). Each
// invocation walks its columns of the tile; per column it loads the K values of P and the EVALS
// eval masses once and reuses them for all CANDIDATES candidates (4 vec4 lanes). The first block
// of SOURCES weights is loaded into registers before the loop, and every loop bound is a constant
// so the loops unroll and accumulators stay in registers: on CPU rasterizers (llvmpipe) each
// storage load inside a loop costs one scalar load per invocation, so loads are what to save.
// Each invocation writes its own partial sums (no workgroup barrier or shared-memory tree, which
// cost more than the sums themselves on llvmpipe); the host adds them in a fixed order in f64.
// No float atomics: results are deterministic.

struct Params {
  num_sources: u32,
  // Blocks of SOURCES sources (weights are padded with zeros to whole blocks).
  source_blocks: u32,
  // Columns of this vocabulary chunk: the row stride of `distributions` and `evals`.
  vocab_width: u32,
  // Candidates of this dispatch (the last block may be partly padding).
  num_candidates: u32,
  num_evals: u32,
  tile_width: u32,
  num_tiles: u32,
  candidate_blocks: u32,
  eval_blocks: u32,
  grid_x: u32,
}

const CANDIDATES: u32 = 16u;
const LANES: u32 = CANDIDATES / 4u;
const SOURCES: u32 = 16u;
const EVALS: u32 = 8u;
// SPEC §4 floor on q(v) before the log.
const Q_FLOOR: f32 = 1e-12;

@group(0) @binding(0) var<uniform> params: Params;
// P: num_sources rows of vocab_width.
@group(0) @binding(1) var<storage, read> distributions: array<f32>;
// Per candidate block, per source block, per source k of the block, per lane l:
// (w[16b + 4l][k], .., w[16b + 4l + 3][k]); zero for padded candidates and sources.
@group(0) @binding(2) var<storage, read> weights: array<vec4f>;
// p_e: num_evals rows of vocab_width.
@group(0) @binding(3) var<storage, read> evals: array<f32>;
// partials[((group_of_4 * num_evals + eval) * num_tiles + tile) * WORKGROUP_SIZE + invocation][j]:
// one invocation's sum of p_e(v) log q(v) over its columns of the tile, for candidate 4 group_of_4 + j
// (group_of_4 counts the groups of 4 candidates of the dispatch, padding included).
@group(0) @binding(4) var<storage, read_write> partials: array<vec4f>;

override WORKGROUP_SIZE: u32 = 32u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  let tile = group % params.num_tiles;
  let rest = group / params.num_tiles;
  let candidate_block = rest % params.candidate_blocks;
  let eval_block = rest / params.candidate_blocks;
  if (eval_block >= params.eval_blocks) {
    return; // the whole workgroup is past the end (2D grids overshoot)
  }
  let first_eval = eval_block * EVALS;
  let last_eval = params.num_evals - 1u;
  let last_source = params.num_sources - 1u;
  let tile_start = tile * params.tile_width;
  let tile_end = min(tile_start + params.tile_width, params.vocab_width);
  let stride = params.vocab_width;
  let block_weights = candidate_block * params.source_blocks * SOURCES * LANES;

  var first_weights: array<vec4f, SOURCES * LANES>;
  for (var i = 0u; i < SOURCES * LANES; i++) {
    first_weights[i] = weights[block_weights + i];
  }
  // sums[e * LANES + l][j]: this invocation's share of sum_v p_e(v) log q(v) for candidate 4l + j.
  var sums: array<vec4f, LANES * EVALS>;
  for (var v = tile_start + lid; v < tile_end; v += WORKGROUP_SIZE) {
    // Explicitly zeroed: SwiftShader (Chromium) did not re-zero a bare declaration per iteration.
    var q = array<vec4f, LANES>();
    for (var k = 0u; k < SOURCES; k++) {
      // Padded sources re-read the last row; their weights are zero.
      let p = distributions[min(k, last_source) * stride + v];
      for (var l = 0u; l < LANES; l++) {
        q[l] += first_weights[k * LANES + l] * p;
      }
    }
    // More than SOURCES sources: the remaining blocks read their weights inside the loop (slower).
    for (var source_block = 1u; source_block < params.source_blocks; source_block++) {
      for (var k = 0u; k < SOURCES; k++) {
        let source = source_block * SOURCES + k;
        let p = distributions[min(source, last_source) * stride + v];
        for (var l = 0u; l < LANES; l++) {
          q[l] += weights[block_weights + source * LANES + l] * p;
        }
      }
    }
    for (var l = 0u; l < LANES; l++) {
      q[l] = log(max(q[l], vec4f(Q_FLOOR)));
    }
    for (var e = 0u; e < EVALS; e++) {
      // Rows past the last eval re-read the last one; their sums are never written.
      let mass = evals[min(first_eval + e, last_eval) * stride + v];
      for (var l = 0u; l < LANES; l++) {
        sums[e * LANES + l] += mass * q[l];
      }
    }
  }

  for (var e = 0u; e < EVALS; e++) {
    if (first_eval + e < params.num_evals) {
      for (var l = 0u; l < LANES; l++) {
        let group_of_4 = candidate_block * LANES + l;
        partials[((group_of_4 * params.num_evals + first_eval + e) * params.num_tiles + tile) * WORKGROUP_SIZE + lid] = sums[e * LANES + l];
      }
    }
  }
}
