/** CPU oracle of the runtime smoke kernel (src/kernels/iota.ts): base + i * step mod 2^32. */
export function iotaCpu(count: number, base: number, step: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = (base + Math.imul(i, step)) >>> 0;
  return out;
}
