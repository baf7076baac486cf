// Runtime smoke kernel used by `tokenmix doctor` and the runtime tests: out[i] = base + i * step
// for i < count, over a 2D dispatch grid (see src/gpu/dispatch.ts planGrid).
struct Params {
  count: u32,
  base: u32,
  step: u32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

override WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = wg.x + wg.y * params.grid_x;
  let i = group * WORKGROUP_SIZE + lid;
  if (i >= params.count) {
    return;
  }
  out[i] = params.base + i * params.step;
}
