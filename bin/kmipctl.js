#!/usr/bin/env node
// Launcher: the compiled CLI when built (npm run build), else the TypeScript sources via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli/kmipctl.js', import.meta.url));
let mod;
if (existsSync(compiled)) {
  mod = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import('../src/cli/kmipctl.ts');
}
// `kmipctl ttlv decode capture.bin | head`: a closed pipe ends the output; it is not a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await mod.main(process.argv.slice(2), process);
