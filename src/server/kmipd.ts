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
import { create } from '../operations/create.js';
import { register } from '../operations/register.js';
import { createKeyPair } from '../operations/create-key-pair.js';
import { rekeyKeyPair } from '../operations/rekey-key-pair.js';
import { get } from '../operations/get.js';
import { activate } from '../operations/activate.js';
import { destroy } from '../operations/destroy.js';
import { locate } from '../operations/locate.js';
import { getAttributes } from '../operations/get-attributes.js';
import { openStore, type ObjectStore, type StoreConfig } from '../store/index.js';
import { openKeyring } from '../keys/index.js';
import { revoke } from '../operations/revoke.js';
import { getAttributeList } from '../operations/get-attribute-list.js';
import { addAttribute } from '../operations/add-attribute.js';
import { modifyAttribute } from '../operations/modify-attribute.js';
import { deleteAttribute } from '../operations/delete-attribute.js';
import { setAttribute } from '../operations/set-attribute.js';
import { adjustAttribute } from '../operations/adjust-attribute.js';
import { rekey } from '../operations/rekey.js';
import { deriveKey } from '../operations/derive-key.js';
import { createSplitKey } from '../operations/create-split-key.js';
import { joinSplitKey } from '../operations/join-split-key.js';
import { certify } from '../operations/certify.js';
import { recertify } from '../operations/recertify.js';
import { validate } from '../operations/validate.js';
import { check } from '../operations/check.js';
import { obtainLease } from '../operations/obtain-lease.js';
import { getUsageAllocation } from '../operations/get-usage-allocation.js';
import { archive } from '../operations/archive.js';
import { recover } from '../operations/recover.js';
import { exportObject } from '../operations/export.js';
import { importObject } from '../operations/import.js';
import { encrypt } from '../operations/encrypt.js';
import { decrypt } from '../operations/decrypt.js';
import { sign } from '../operations/sign.js';
import { signatureVerify } from '../operations/signature-verify.js';
import { mac } from '../operations/mac.js';
import { macVerify } from '../operations/mac-verify.js';
import { hash } from '../operations/hash.js';
import { rngRetrieve } from '../operations/rng-retrieve.js';
import { rngSeed } from '../operations/rng-seed.js';
import { interop } from '../operations/interop.js';
import { log } from '../operations/log.js';
import { poll } from '../operations/poll.js';
import { cancel } from '../operations/cancel.js';
import { pkcs11 } from '../operations/pkcs11.js';
import { setEndpointRole } from '../operations/set-endpoint-role.js';
import { notify } from '../operations/notify.js';
import { put } from '../operations/put.js';
import { PushHub, attachPushHub } from './push.js';
import { Processor } from './processor.js';
import { AuditLog } from '../audit/log.js';
import { eventFields } from '../audit/record.js';
import type { RefusedClient } from './tls-options.js';
import { type RunningServers, startServers } from './tls-server.js';
import { VERSION } from '../version.js';

/** Every operation kmipd implements. Query → Operations answers from this. */
export function defaultOperations(options: { interop?: boolean } = {}): OperationRegistry {
  const registry = new OperationRegistry()
    .register(discoverVersions)
    .register(query)
    .register(create)
    .register(createKeyPair)
    .register(register)
    .register(rekeyKeyPair)
    .register(locate)
    .register(get)
    .register(getAttributes)
    .register(activate)
    .register(revoke)
    .register(destroy)
    .register(getAttributeList)
    .register(addAttribute)
    .register(modifyAttribute)
    .register(deleteAttribute)
    .register(setAttribute)
    .register(adjustAttribute)
    .register(rekey)
    .register(deriveKey)
    .register(createSplitKey)
    .register(joinSplitKey)
    .register(certify)
    .register(recertify)
    .register(validate)
    .register(check)
    .register(obtainLease)
    .register(getUsageAllocation)
    .register(archive)
    .register(recover)
    .register(exportObject)
    .register(importObject)
    .register(encrypt)
    .register(decrypt)
    .register(sign)
    .register(signatureVerify)
    .register(mac)
    .register(macVerify)
    .register(hash)
    .register(rngRetrieve)
    .register(rngSeed)
    .register(log)
    .register(poll)
    .register(cancel)
    .register(pkcs11)
    .register(setEndpointRole)
    .register(notify)
    .register(put);
  // KMIP 2.1 §6.1.26: Interop "SHALL NOT be available in a production server".
  if (options.interop) registry.register(interop);
  return registry;
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
  readonly store: ObjectStore;
  /** The audit log (absent when config audit.enabled is false). */
  readonly audit: AuditLog | undefined;
}

/** The store settings of the config, in the form openStore takes. */
export function storeConfig(config: KmipdConfig): StoreConfig {
  const s = config.store;
  if (s.client === 'sqlite3') return { client: 'sqlite3', filename: s.filename };
  if (s.connection === null) throw new Error('config: store.connection is required when store.client is pg');
  return { client: 'pg', connection: s.connection, poolSize: s.poolSize, ...(s.schema !== null ? { schema: s.schema } : {}) };
}

export async function startKmipd({ config, logger, clock, operations, ticketKeys }: StartOptions): Promise<Kmipd> {
  // An absent HSM or a wrong PIN stops the start here, with the keyring's message.
  const { keyring, warnings, close: closeKeyring } = await openKeyring(config, logger);
  for (const warning of warnings) logger.warn(warning);
  let audit: AuditLog | undefined;
  const server: ServerDescription = { vendor: 'kmipd', product: 'kmipd', version: VERSION, nodeId: config.nodeId, warnings, auditPublicKey: () => audit?.currentPublicKey(), rng: config.rng };
  let store: ObjectStore;
  try {
    store = await openStore(storeConfig(config));
  } catch (err) {
    closeKeyring();
    throw err;
  }
  if (config.audit.enabled) {
    try {
      if (!keyring.signing) throw new Error(`the ${keyring.kind} keyring has no audit signing keys`);
      audit = new AuditLog({
        store,
        node: config.nodeId,
        signing: keyring.signing,
        log: logger.child({ module: 'audit' }),
        checkpointRows: config.audit.checkpointRows,
        checkpointSeconds: config.audit.checkpointSeconds,
        chainIntervalMs: config.audit.chainIntervalMs,
      });
      // Chains what a previous run left unchained (a crash) before anything new is written.
      await audit.start();
    } catch (err) {
      await store.close();
      closeKeyring();
      throw err;
    }
  } else {
    logger.warn('audit: disabled by config (audit.enabled: false); requests are not recorded');
  }
  // Notify/Put to clients in the Client endpoint role: the Processor's committed changes are watched.
  const push = new PushHub({ keyring, log: logger.child({ module: 'push' }) });
  const processor = new Processor({
    operations: operations ?? defaultOperations({ interop: config.interop }),
    server,
    store: push.watch(store),
    keyring,
    maxBatchItems: config.limits.maxBatchItems,
    ...(clock ? { clock } : {}),
    ...(audit ? { audit } : {}),
  });
  attachPushHub(processor, push);
  let running: RunningServers;
  try {
    running = await startServers({
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
      ...(audit ? { refused: (client: RefusedClient) => recordRefused(audit, config.nodeId, client, logger) } : {}),
    });
  } catch (err) {
    await audit?.close();
    await store.close();
    closeKeyring();
    throw err;
  }
  const closeServers = running.close.bind(running);
  return Object.assign(running, {
    processor,
    store,
    audit,
    async close(graceMs?: number) {
      try {
        await closeServers(graceMs);
      } finally {
        // In-flight requests are answered: their rows are written; chain them and sign the head.
        await audit?.close();
        await store.close();
        closeKeyring();
      }
    },
  });
}

/** A client refused before its first request: one row, so a probing client leaves a trace. */
function recordRefused(audit: AuditLog, node: string, client: RefusedClient, logger: Logger): void {
  audit
    .record([eventFields({ node, event: 'connection', status: 'Refused', peer: client.peer, transport: client.transport, message: client.reason, subject: client.subject ?? null, fingerprint: client.fingerprint ?? null })])
    .catch((err: unknown) => logger.error({ err }, 'the audit row of a refused client could not be written'));
}
