#!/usr/bin/env node
// The `tokenmix` command. The TypeScript sources are compiled to dist/ by `npm ci`
// (the package's `prepare` script); this file only forwards to the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('tokenmix: not built yet: run `npm run build` in the tokenmix checkout (npm ci does it automatically)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
