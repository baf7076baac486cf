// WebGPU flag values are fixed by the specification. Using them directly keeps the library
// free of a dependency on the `GPUBufferUsage` globals, which Node only has after Dawn is
// bootstrapped.
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;
