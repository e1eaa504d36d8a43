/**
 * The KMIP-over-TLS listener (KMIP Profiles 2.1 §3.1, port 5696), and `startServers`, which runs
 * it together with the optional HTTPS transport.
 *
 * Every connection must present a client certificate chaining to the configured CA; the
 * certificate names the client (see identity.ts). Connections above `maxConnections` are closed
 * as soon as they are accepted.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { KmipConnection } from './connection.js';
import { startHttpsServer } from './https-server.js';
import { onClient } from './identity.js';
import {
  type Listener,
  type TransportLimits,
  type TransportOptions,
  closeGracefully,
  listen,
  resolveLimits,
  serverTlsOptions,
  trackSockets,
  watchTransport,
  refusedHook,
} from './tls-options.js';

export interface RunningServers {
  tlsAddress: AddressInfo;
  httpsAddress?: AddressInfo;
  close(graceMs?: number): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;

/** Starts the TLS listener and, when enabled, the HTTPS one; rejects if either cannot listen. */
export async function startServers(options: TransportOptions): Promise<RunningServers> {
  const limits = resolveLimits(options.limits);
  const tls = await startTlsServer(options, limits);
  let https: Listener | undefined;
  if (options.https?.enabled) {
    try {
      https = await startHttpsServer(options, limits);
    } catch (err) {
      await tls.close(0);
      throw err;
    }
  }
  const running: RunningServers = {
    tlsAddress: tls.address,
    async close(graceMs = DEFAULT_GRACE_MS) {
      await Promise.all([tls.close(graceMs), https?.close(graceMs)]);
    },
  };
  if (https) running.httpsAddress = https.address;
  return running;
}

export async function startTlsServer(options: TransportOptions, limits: TransportLimits = resolveLimits(options.limits)): Promise<Listener> {
  const log = options.logger.child({ transport: 'tls' });
  const mode = options.tls.identity ?? 'cn';
  // allowHalfOpen: a client may send its last requests and shut its side; it still gets the answers.
  const server = createServer({ ...serverTlsOptions(options.tls, limits), allowHalfOpen: true });
  const sockets = trackSockets(server);
  const connections = new Set<KmipConnection>();
  let closing = false;

  const refused = refusedHook(options, 'tls');
  watchTransport(server, limits, log, refused);
  onClient(server, mode, log, (socket, { identity, peer, log: connLog }) => {
    if (closing) {
      socket.destroy();
      return;
    }
    connLog.debug({ protocol: socket.getProtocol(), cipher: socket.getCipher().name, resumed: socket.isSessionReused() }, 'connection accepted');
    // Responses are small and answer a waiting client: send each at once (no Nagle delay).
    socket.setNoDelay(true);
    const connection = new KmipConnection(socket, { processor: options.processor, limits, identity, peer, log: connLog });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  }, refused);

  const address = await listen(server, options.host, options.port);
  log.info({ address: address.address, port: address.port }, 'listening');
  return {
    address,
    close: (graceMs) =>
      closeGracefully(server, sockets, graceMs, () => {
        closing = true;
        for (const c of connections) c.shutdown();
      }),
  };
}

