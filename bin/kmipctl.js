#!/usr/bin/env node
import { launch } from './launch.js';

// `kmipctl ttlv decode capture.bin | head`: a closed pipe ends the output; it is not a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
await launch('kmipctl');
