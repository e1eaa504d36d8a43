/**
 * Assembles a running kmipd from its configuration: the operation registry, the processor and
 * the transports. The CLI's `serve` and the tests start servers through here.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { KmipdConfig } from '../config/config.js';
import { OperationRegistry, type Clock, type ServerDescription } from '../operations/registry.js';
import { discoverVersions } from '../operations/discover-versions.js';
import { query } from '../operations/query.js';
import { Processor } from './processor.js';
import { type RunningServers, startServers } from './tls-server.js';
import { VERSION } from '../version.js';

/** Every operation kmipd implements. Query → Operations answers from this. */
export function defaultOperations(): OperationRegistry {
  return new OperationRegistry().register(discoverVersions).register(query);
}

export interface StartOptions {
  config: KmipdConfig;
  logger: Logger;
  clock?: Clock;
  operations?: OperationRegistry;
  /** TLS session-ticket keys shared by the workers of a cluster. */
  ticketKeys?: Buffer;
}

export interface Kmipd extends RunningServers {
  readonly processor: Processor;
}

export async function startKmipd({ config, logger, clock, operations, ticketKeys }: StartOptions): Promise<Kmipd> {
  const server: ServerDescription = { vendor: 'kmipd', product: 'kmipd', version: VERSION, nodeId: config.nodeId, warnings: [] };
  const processor = new Processor({
    operations: operations ?? defaultOperations(),
    server,
    maxBatchItems: config.limits.maxBatchItems,
    ...(clock ? { clock } : {}),
  });
  const running = await startServers({
    host: config.listen.host,
    port: config.listen.port,
    https: config.https,
    tls: {
      cert: readFileSync(config.tls.cert),
      key: readFileSync(config.tls.key),
      ca: readFileSync(config.tls.ca),
      identity: config.tls.identity,
      minVersion: config.tls.minVersion,
      sessionTickets: config.tls.sessionTickets,
      ...(ticketKeys ? { ticketKeys } : {}),
    },
    limits: config.limits,
    logger,
    processor,
  });
  return Object.assign(running, { processor });
}
