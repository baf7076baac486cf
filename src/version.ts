/** Recorded in manifests and benchmark results. Keep in step with package.json. */
export const VERSION = '0.1.0';
