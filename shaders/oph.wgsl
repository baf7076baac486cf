// One-permutation MinHash with optimal densification (issue 9 item 7). The sketch is
// specified in the header of src/cpu/oph.ts; this shader must agree with it bit for bit.
//
// One workgroup per document (2D grid: doc = wg.x + wg.y * grid_x). The bins live in
// workgroup memory, which WGSL zero-initializes, so a bin holds the COMPLEMENT of its
// minimum, folded in with atomicMax: 0 means empty (values are at most 0xFFFFFFFE, so their
// complements are at least 1), and no initialization pass is needed. The invocations stride
// over the document's shingles (the order of the atomics cannot change a maximum); the one
// whose atomicMax fills an empty bin also lists it, so the non-empty bins are known without
// another pass. After one barrier the bins are read-only and each invocation densifies and
// writes its slots j = lid, lid + WORKGROUP_SIZE, …: an empty bin probes its sequence (about
// K/m probes with m non-empty bins) unless the document is sparse (m² < K); then it takes the
// non-empty bin of least rank in the host's table (src/cpu/oph.ts densifyRanks), the same bin
// in m lookups. MAX_BINS (a power of two >= K, chosen by the host) sizes the bins so that a
// small K does not pay for zero-initializing 1024 of them.
struct Params {
  num_docs: u32,
  num_bins: u32,
  grid_x: u32,
  // Random probes per empty bin, in units of K, before the fallback scan (64; tests lower it).
  probe_rounds: u32,
  probe_seed: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  // (a, b, c, 0) of the bin hash h and the value hash v: fmix32(((x ^ a) * b) + c).
  bin_mixer: vec4u,
  value_mixer: vec4u,
}

@group(0) @binding(0) var<uniform> params: Params;
// CSR offsets of this batch's documents (rebased so offsets[0] = 0) and their shingle hashes.
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> shingles: array<u32>;
@group(0) @binding(3) var<storage, read_write> sketches: array<u32>;
// K×K: ranks[j * K + s] = position of bin s in empty bin j's densification list.
@group(0) @binding(4) var<storage, read> ranks: array<u32>;

override WORKGROUP_SIZE: u32 = 32u;
// Bins held in workgroup memory (>= K; at most OPH_MAX_HASHES).
override MAX_BINS: u32 = 1024u;

const EMPTY: u32 = 0xffffffffu;
const WEYL: u32 = 0x9e3779b9u;

// sqrt(OPH_MAX_HASHES): a sparse document (m² < K) has fewer non-empty bins than this.
const SPARSE_LIST: u32 = 32u;

// ~min(value) per bin; 0 = empty.
var<workgroup> raw_bins: array<atomic<u32>, MAX_BINS>;
// The non-empty bins (in any order; only the first SPARSE_LIST are kept) and their count.
var<workgroup> non_empty: array<u32, SPARSE_LIST>;
var<workgroup> non_empty_count: atomic<u32>;

fn fmix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

fn mix(x: u32, m: vec4u) -> u32 {
  return fmix32(((x ^ m.x) * m.y) + m.z);
}

// floor(a * b / 2^32): the high word of the 64-bit product, from 16-bit halves (WGSL has no
// 64-bit integers). Each partial product fits in u32; `carry` collects the low word's overflow.
fn mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lo = a_lo * b_lo;
  let mid1 = a_hi * b_lo;
  let mid2 = a_lo * b_hi;
  let carry = ((lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
  return a_hi * b_hi + (mid1 >> 16u) + (mid2 >> 16u) + carry;
}

fn is_occupied(bin: u32) -> bool {
  return atomicLoad(&raw_bins[bin]) != 0u;
}

// The bin that empty bin j copies from: the first occupied bin of its probe sequence
// (splitmix32 seeded with fmix32(j ^ probe_seed)), else of the scan j+1, j+2, … mod K.
// The document has at least one occupied bin, so the scan always ends on one.
fn source_bin(j: u32) -> u32 {
  let num_bins = params.num_bins;
  var state = fmix32(j ^ params.probe_seed);
  let probes = params.probe_rounds * num_bins;
  for (var t = 0u; t < probes; t++) {
    state += WEYL;
    let bin = mulhi(fmix32(state), num_bins);
    if (is_occupied(bin)) {
      return bin;
    }
  }
  for (var step = 1u; step < num_bins; step++) {
    let bin = (j + step) % num_bins;
    if (is_occupied(bin)) {
      return bin;
    }
  }
  return j;
}

// The non-empty bin of least rank for empty bin j (ranks within a row are distinct).
fn source_by_rank(j: u32, m: u32) -> u32 {
  let row = j * params.num_bins;
  var best = non_empty[0];
  for (var i = 1u; i < m; i++) {
    let bin = non_empty[i];
    if (ranks[row + bin] < ranks[row + best]) {
      best = bin;
    }
  }
  return best;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let doc = wg.x + wg.y * params.grid_x;
  if (doc >= params.num_docs) {
    return;
  }
  let num_bins = params.num_bins;
  let start = offsets[doc];
  let end = offsets[doc + 1u];
  for (var i = start + lid; i < end; i += WORKGROUP_SIZE) {
    let x = shingles[i];
    let bin = mulhi(mix(x, params.bin_mixer), num_bins);
    // The one invocation that fills an empty bin (old = 0) lists it: no separate pass.
    let old = atomicMax(&raw_bins[bin], ~min(mix(x, params.value_mixer), EMPTY - 1u));
    if (old == 0u) {
      let index = atomicAdd(&non_empty_count, 1u);
      if (index < SPARSE_LIST) {
        non_empty[index] = bin;
      }
    }
  }
  workgroupBarrier();
  let row = doc * num_bins;
  let m = atomicLoad(&non_empty_count);
  if (m == 0u) {
    // No shingles: every slot is EMPTY (header step 4), with nothing to densify from.
    for (var j = lid; j < num_bins; j += WORKGROUP_SIZE) {
      sketches[row + j] = EMPTY;
    }
    return;
  }
  let sparse = m * m < num_bins;
  for (var j = lid; j < num_bins; j += WORKGROUP_SIZE) {
    var source = j;
    if (!is_occupied(j)) {
      if (sparse) {
        source = source_by_rank(j, m);
      } else {
        source = source_bin(j);
      }
    }
    sketches[row + j] = ~atomicLoad(&raw_bins[source]);
  }
}
