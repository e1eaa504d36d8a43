/**
 * `kmipctl`: the client-side tool. A table of command groups, each a module with a one-line
 * summary and `run(argv, io)`; `main` dispatches on the first argument and returns the exit code
 * (0 ok, 1 failure, 2 usage error) so tests can call it in-process.
 */
import { pathToFileURL } from 'node:url';
import { VERSION } from '../version.js';
import * as attributes from './attributes.js';
import * as audit from './audit.js';
import * as datakey from './datakey.js';
import * as discover from './discover.js';
import * as lifecycle from './lifecycle.js';
import * as listen from './listen.js';
import * as objects from './objects.js';
import * as query from './query.js';
import * as pki from './pki-ops.js';
import * as retrieve from './retrieve.js';
import * as transfer from './transfer.js';
import * as ttlv from './ttlv.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A command group: `kmipctl NAME …` runs `run(…)` with the arguments after NAME. */
export interface CommandModule {
  /** One line for `kmipctl --help`. */
  readonly summary: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Every command, in the order `kmipctl --help` lists them. */
export const commands: ReadonlyMap<string, CommandModule> = new Map<string, CommandModule>([
  ['discover', discover],
  ['query', query],
  ['create', objects.create],
  ['create-key-pair', objects.createKeyPair],
  ['register', objects.register],
  ['derive-key', objects.deriveKey],
  ['rekey', objects.rekey],
  ['rekey-key-pair', objects.rekeyKeyPair],
  ['locate', retrieve.locate],
  ['get', retrieve.get],
  ['export', transfer.exportCommand],
  ['import', transfer.importCommand],
  ['get-attributes', attributes.getAttributes],
  ['get-attribute-list', attributes.getAttributeList],
  ['add-attribute', attributes.addAttribute],
  ['modify-attribute', attributes.modifyAttribute],
  ['delete-attribute', attributes.deleteAttribute],
  ['set-attribute', attributes.setAttribute],
  ['adjust-attribute', attributes.adjustAttribute],
  ['activate', lifecycle.activate],
  ['revoke', lifecycle.revoke],
  ['destroy', lifecycle.destroy],
  ['archive', lifecycle.archive],
  ['recover', lifecycle.recover],
  ['check', lifecycle.check],
  ['obtain-lease', lifecycle.obtainLease],
  ['get-usage-allocation', lifecycle.getUsageAllocation],
  ['datakey', datakey],
  ['audit', audit],
  ['create-split-key', pki.createSplitKey],
  ['join-split-key', pki.joinSplitKey],
  ['certify', pki.certify],
  ['recertify', pki.recertify],
  ['validate', pki.validate],
  ['listen', listen],
  ['ttlv', ttlv],
]);

export function help(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const lines = [...commands].map(([name, cmd]) => `  ${name.padEnd(width)}   ${cmd.summary}`);
  return `kmipctl ${VERSION} — KMIP client tools

Usage: kmipctl <command> [options]

Commands:
${lines.join('\n')}

Options:
  -h, --help      Show this help ('kmipctl <command> --help' for a command's own)
  -v, --version   Show the version
`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  switch (name) {
    case undefined:
    case '-h':
    case '--help':
      io.stdout.write(help());
      return 0;
    case 'help': {
      const cmd = rest[0] === undefined ? undefined : commands.get(rest[0]);
      if (cmd) return cmd.run(['--help'], io);
      if (rest[0] !== undefined) {
        io.stderr.write(`kmipctl: unknown command '${rest[0]}'\n\n${help()}`);
        return 2;
      }
      io.stdout.write(help());
      return 0;
    }
    case '-v':
    case '--version':
      io.stdout.write(`${VERSION}\n`);
      return 0;
  }
  const cmd = commands.get(name);
  if (cmd === undefined) {
    io.stderr.write(`kmipctl: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  return cmd.run(rest, io);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // `kmipctl ttlv decode capture | head`: a closed pipe ends the output, it is not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2), process).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`kmipctl: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
