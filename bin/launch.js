// Runs a kmipd command-line entry point: the compiled one when built (npm run build), else the
// TypeScript sources through tsx. Used by bin/kmipd.js and bin/kmipctl.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function launch(name) {
  const compiled = fileURLToPath(new URL(`../dist/src/cli/${name}.js`, import.meta.url));
  let mod;
  if (existsSync(compiled)) {
    mod = await import(compiled);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(`../src/cli/${name}.ts`);
  }
  process.exitCode = await mod.main(process.argv.slice(2), process);
}
