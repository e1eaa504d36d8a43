#!/usr/bin/env node
// Launcher: the compiled server when built (npm run build), else the TypeScript sources via tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli/kmipd.js', import.meta.url));
let mod;
if (existsSync(compiled)) {
  mod = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import('../src/cli/kmipd.ts');
}
const code = await mod.main(process.argv.slice(2), process);
process.exitCode = code;
