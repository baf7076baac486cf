// Deterministic multi-level exclusive prefix sum of u32 (used by the thresholding kernel's
// stream compaction, src/kernels/threshold.ts). `scan_blocks` turns each block of
// WORKGROUP_SIZE values into its exclusive prefix sum and writes the block total to
// `sums`; the host scans `sums` the same way (recursively, so any length works) and
// `add_offsets` adds each block's scanned offset back. Integer sums: no order dependence.
struct Params {
  count: u32,   // values in `data`
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;

override WORKGROUP_SIZE: u32 = 64u;

var<workgroup> tile: array<u32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  if (group >= (params.count + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE) {
    return;
  }
  let i = group * WORKGROUP_SIZE + lid;
  var value = 0u;
  if (i < params.count) {
    value = data[i];
  }
  tile[lid] = value;
  workgroupBarrier();
  // Hillis-Steele inclusive scan in workgroup memory.
  for (var offset = 1u; offset < WORKGROUP_SIZE; offset = offset * 2u) {
    var left = 0u;
    if (lid >= offset) {
      left = tile[lid - offset];
    }
    workgroupBarrier();
    tile[lid] = tile[lid] + left;
    workgroupBarrier();
  }
  if (i < params.count) {
    data[i] = tile[lid] - value;
  }
  if (lid == WORKGROUP_SIZE - 1u) {
    sums[group] = tile[lid];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn add_offsets(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  let i = group * WORKGROUP_SIZE + lid;
  if (i >= params.count) {
    return;
  }
  data[i] = data[i] + sums[group];
}
