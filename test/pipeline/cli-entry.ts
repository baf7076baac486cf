/**
 * The `tokenmix` command run straight from the TypeScript sources (`node --import tsx
 * test/pipeline/cli-entry.ts ...`), for tests that spawn and kill the CLI: always the current
 * sources (no stale dist/), and one process, so SIGKILL leaves no orphan behind (`npx tsx`
 * would run the script in a child process).
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
