/**
 * The platform ceiling for `bench:load`: a bare KMIP-over-TLS server that answers every whole
 * message with one fixed, pre-encoded Discover Versions response. Same certificates, same TLS
 * options (serverTlsOptions: mutual TLS, TLS 1.2/1.3, the profile's suites in kmipd's order,
 * session tickets) and same framing (FrameReader) as kmipd, and nothing else: no decoding, no
 * processing, no logging. It runs in its own process so that, like kmipd, it has a core of its own.
 *
 *   node --import tsx test/bench/echo-server.ts --ca ca.pem --cert server.pem --key server-key.pem
 *
 * Prints its port on stdout, then serves 127.0.0.1 until SIGTERM/SIGINT or until its stdin
 * closes (the parent died).
 */
import { readFileSync } from 'node:fs';
import { type TLSSocket, createServer } from 'node:tls';
import { parseArgs } from 'node:util';
import { writeResponse, writeVersion } from '../../src/kmip/message.js';
import { Enum } from '../../src/kmip/registry.generated.js';
import { LATEST, SUPPORTED_VERSIONS } from '../../src/kmip/version.js';
import { resolveLimits, serverTlsOptions } from '../../src/server/tls-options.js';
import { FrameReader, encode } from '../../src/ttlv/index.js';

const { values: args } = parseArgs({
  options: {
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!args.ca || !args.cert || !args.key) {
  process.stderr.write('usage: echo-server.ts --ca FILE --cert FILE --key FILE [--port N]\n');
  process.exit(2);
}

const RESPONSE = encode(
  writeResponse({ protocolVersion: LATEST, timeStamp: Math.floor(Date.now() / 1000) }, [
    { operation: Enum.Operation.DiscoverVersions, resultStatus: 'Success', payload: SUPPORTED_VERSIONS.map((v) => writeVersion(v)) },
  ]),
);

const limits = resolveLimits();
const tls = { ca: readFileSync(args.ca), cert: readFileSync(args.cert), key: readFileSync(args.key) };
const server = createServer({ ...serverTlsOptions(tls, limits), allowHalfOpen: true });

server.on('secureConnection', (socket: TLSSocket) => {
  socket.setNoDelay(true);
  const reader = new FrameReader({ maxMessageSize: limits.maxMessageSize });
  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (let i = 0; i < frames.length; i++) socket.write(RESPONSE);
  });
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
});
server.on('tlsClientError', (_err, socket: TLSSocket) => socket.destroy());

server.listen(Number(args.port), '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.stdout.write(`${address.port}\n`);
});

const stop = (): void => {
  server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
