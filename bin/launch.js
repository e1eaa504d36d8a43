// Runs a kmipd command-line entry point. In a source checkout the TypeScript sources run through
// tsx, so what runs is always what is in src/ (a stale dist/ can never shadow it); an installed
// package without src/ runs the compiled dist/ (npm run build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function launch(name) {
  const source = fileURLToPath(new URL(`../src/cli/${name}.ts`, import.meta.url));
  let mod;
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(source);
  } else {
    mod = await import(fileURLToPath(new URL(`../dist/src/cli/${name}.js`, import.meta.url)));
  }
  process.exitCode = await mod.main(process.argv.slice(2), process);
}
