// MinHash signatures of word n-gram shingles (SPEC §2 near dedup). The hash family is
// specified in the header of src/cpu/minhash.ts; this shader must agree with it bit for bit.
//
// One workgroup per document (2D grid: doc = wg.x + wg.y * grid_x). Each invocation owns
// SLOTS consecutive signature slots, held as KV vec4 accumulators with their mixer constants
// in registers; a round covers WORKGROUP_SIZE * SLOTS slots (one round for K = 128 at the
// default workgroup size of 8). Shingles go through workgroup memory in chunks: the
// invocations hash a chunk cooperatively, then every invocation folds each of the chunk's
// hashes into all its slots. Why this shape: on a SIMD CPU rasterizer (Mesa llvmpipe, 8
// AVX2 lanes = one workgroup of 8) a workgroup-memory load costs about as much as several
// mixes, so each loaded vec4 of hashes feeds 4 * SLOTS = 64 mixes.
struct Params {
  num_docs: u32,
  num_hashes: u32,
  ngram: u32,
  shingle_seed: u32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// CSR offsets of this batch's documents (rebased so offsets[0] = 0) and their word hashes.
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
// Per slot k: (a_k, b_k, c_k, 0), derived on the host by splitmix32.
@group(0) @binding(3) var<storage, read> mixers: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> signatures: array<u32>;

override WORKGROUP_SIZE: u32 = 8u;
// vec4 accumulators per invocation, so SLOTS signature slots per invocation per round.
const KV: u32 = 4u;
const SLOTS: u32 = 4u * KV;
// Shingle hashes per chunk (a multiple of 4: they are stored as vec4).
const CHUNK: u32 = 256u;

var<workgroup> chunk_hashes: array<vec4u, CHUNK / 4u>;

fn fmix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

fn fmix32x4(x: vec4u) -> vec4u {
  var h = x;
  h ^= h >> vec4u(16u);
  h *= 0x85ebca6bu;
  h ^= h >> vec4u(13u);
  h *= 0xc2b2ae35u;
  h ^= h >> vec4u(16u);
  return h;
}

fn rotl(x: u32, r: u32) -> u32 {
  return (x << r) | (x >> (32u - r));
}

// MurmurHash3_x86_32 (seed shingle_seed) of `width` words starting at tokens[first], as
// 4-byte blocks: 4 * width bytes, no tail.
fn shingle_hash(first: u32, width: u32) -> u32 {
  var h = params.shingle_seed;
  for (var i = 0u; i < width; i++) {
    let k1 = rotl(tokens[first + i] * 0xcc9e2d51u, 15u) * 0x1b873593u;
    h = rotl(h ^ k1, 13u) * 5u + 0xe6546b64u;
  }
  return fmix32(h ^ (4u * width));
}

// h_k(x) = fmix32((x ^ a_k) * b_k + c_k) for the 4 slots whose constants are (a, b, c).
fn mix_slots(x: u32, a: vec4u, b: vec4u, c: vec4u) -> vec4u {
  return fmix32x4(((vec4u(x) ^ a) * b) + c);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let doc = wg.x + wg.y * params.grid_x;
  if (doc >= params.num_docs) {
    return;
  }
  let start = offsets[doc];
  let words = offsets[doc + 1u] - start;
  let width = min(words, params.ngram);
  // 0 words: no shingle (every slot stays 0xFFFFFFFF); fewer than n words: one shingle.
  var shingles = 0u;
  if (words > 0u) {
    shingles = words - width + 1u;
  }
  let last_shingle = max(shingles, 1u) - 1u;
  let last_slot = params.num_hashes - 1u;
  let row = doc * params.num_hashes;
  let rounds = (params.num_hashes + WORKGROUP_SIZE * SLOTS - 1u) / (WORKGROUP_SIZE * SLOTS);
  for (var round = 0u; round < rounds; round++) {
    let first_slot = (round * WORKGROUP_SIZE + lid) * SLOTS;
    var a: array<vec4u, KV>;
    var b: array<vec4u, KV>;
    var c: array<vec4u, KV>;
    var best: array<vec4u, KV>;
    for (var g = 0u; g < KV; g++) {
      // Slots past K reuse the last slot's constants; their results are never stored.
      let k = min(vec4u(first_slot + 4u * g) + vec4u(0u, 1u, 2u, 3u), vec4u(last_slot));
      let m0 = mixers[k.x];
      let m1 = mixers[k.y];
      let m2 = mixers[k.z];
      let m3 = mixers[k.w];
      a[g] = vec4u(m0.x, m1.x, m2.x, m3.x);
      b[g] = vec4u(m0.y, m1.y, m2.y, m3.y);
      c[g] = vec4u(m0.z, m1.z, m2.z, m3.z);
      best[g] = vec4u(0xffffffffu);
    }
    for (var base = 0u; base < shingles; base += CHUNK) {
      let quads = (min(CHUNK, shingles - base) + 3u) / 4u;
      workgroupBarrier(); // the previous chunk has been read by everyone
      for (var q = lid; q < quads; q += WORKGROUP_SIZE) {
        // Padding past the last shingle repeats it: a duplicate cannot change a minimum.
        let s = min(vec4u(base + 4u * q) + vec4u(0u, 1u, 2u, 3u), vec4u(last_shingle)) + vec4u(start);
        chunk_hashes[q] = vec4u(shingle_hash(s.x, width), shingle_hash(s.y, width), shingle_hash(s.z, width), shingle_hash(s.w, width));
      }
      workgroupBarrier();
      for (var q = 0u; q < quads; q++) {
        let h = chunk_hashes[q];
        for (var g = 0u; g < KV; g++) {
          best[g] = min(best[g], mix_slots(h.x, a[g], b[g], c[g]));
          best[g] = min(best[g], mix_slots(h.y, a[g], b[g], c[g]));
          best[g] = min(best[g], mix_slots(h.z, a[g], b[g], c[g]));
          best[g] = min(best[g], mix_slots(h.w, a[g], b[g], c[g]));
        }
      }
    }
    for (var g = 0u; g < KV; g++) {
      for (var i = 0u; i < 4u; i++) {
        let k = first_slot + 4u * g + i;
        if (k < params.num_hashes) {
          signatures[row + k] = best[g][i];
        }
      }
    }
  }
}
