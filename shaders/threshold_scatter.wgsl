// Quality-score thresholding, pass 3 of 3: the keep mask and stream compaction. A kept
// row's slot is its workgroup's offset (the exclusive prefix sum of per-workgroup kept
// counts, from threshold_scan.wgsl) plus the kept rows before it in its workgroup, counted
// with popcounts of kept_bits, so kept_indices comes out ascending and identical on every
// run, without workgroup barriers.
struct Params {
  count: u32,        // rows in this dispatch
  grid_x: u32,
  base_index: u32,   // batch row of this dispatch's row 0 (batches split by planRanges)
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> kept_bits: array<u32>;
@group(0) @binding(2) var<storage, read> block_offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> kept_indices: array<u32>;

// Must equal the classify pass's size: a multiple of 32 (whole kept_bits words per group).
override WORKGROUP_SIZE: u32 = 64u;
override WORDS_PER_GROUP: u32 = WORKGROUP_SIZE / 32u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  let i = group * WORKGROUP_SIZE + lid;
  if (i >= params.count) {
    return;
  }
  let word = kept_bits[i / 32u];
  let bit = i % 32u;
  // Byte k of mask word w is row 4w + k (the host reads the words as a Uint8Array).
  if ((i & 3u) == 0u) {
    let nibble = (word >> bit) & 0xfu;
    mask[i >> 2u] = (nibble & 1u) | (((nibble >> 1u) & 1u) << 8u) | (((nibble >> 2u) & 1u) << 16u) | ((nibble >> 3u) << 24u);
  }
  if (((word >> bit) & 1u) == 0u) {
    return;
  }
  var rank = countOneBits(word & ((1u << bit) - 1u));
  for (var w = group * WORDS_PER_GROUP; w < i / 32u; w++) {
    rank += countOneBits(kept_bits[w]);
  }
  kept_indices[block_offsets[group] + rank] = params.base_index + i;
}
