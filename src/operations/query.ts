/**
 * Query (KMIP 2.1 §6.1.40; 1.4 §4.25): what this server implements, answered from the operation
 * registry and the server's own description, in the field order of the response table (Table 283).
 * Functions a protocol version does not have are ignored, as an unknown field would be.
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { atLeast } from '../kmip/version.js';
import { RNG_PARAMETERS } from './generation.js';
import { objectTypeExistsIn } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const Q = Enum.QueryFunction;

/** RNG Retrieve's and RNG Seed's generator (src/crypto/drbg.ts): HMAC_DRBG with SHA-256, reseeded before every Generate. */
const RNG_RETRIEVE_PARAMETERS = structure(Tag.RNGParameters, [
  item(Tag.RNGAlgorithm, 'Enumeration', Enum.RNGAlgorithm.DRBG),
  item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_256),
  item(Tag.DRBGAlgorithm, 'Enumeration', Enum.DRBGAlgorithm.HMAC),
  item(Tag.PredictionResistance, 'Boolean', true),
]);

export const query: OperationDefinition = {
  name: 'Query',
  mutates: false,
  permission: 'public',
  handler(payload, ctx) {
    const functions = new Set(payload.values(Tag.QueryFunction, 'Enumeration'));
    const known = new Set<number>(Object.values(Q));
    for (const f of functions) {
      if (!known.has(f)) throw new KmipError('InvalidField', `unknown Query Function 0x${f.toString(16)}`);
    }
    const out: Item[] = [];
    if (functions.has(Q.QueryOperations)) {
      for (const op of ctx.operations.supported(ctx.version)) if (available(op, ctx)) out.push(enumeration(Tag.Operation, Enum.Operation[op.name]));
    }
    if (functions.has(Q.QueryObjects)) {
      for (const type of supportedObjectTypes(ctx)) out.push(enumeration(Tag.ObjectType, type));
    }
    if (functions.has(Q.QueryServerInformation)) out.push(...serverInformation(ctx));
    // Application Namespaces, Extension List/Map, Attestation Types: kmipd has none to list.
    // 2.1 §6.1.40: "SHALL list all the Random Number Generators that the server supports": RNG
    // Retrieve's HMAC_DRBG, and OpenSSL's CTR_DRBG that key generation draws from.
    if (functions.has(Q.QueryRNGs) && atLeast(ctx.version, 1, 3)) out.push(RNG_RETRIEVE_PARAMETERS, RNG_PARAMETERS);
    // Profiles and Validations: kmipd claims no profile conformance and no formal validation yet.
    if (functions.has(Q.QueryCapabilities) && atLeast(ctx.version, 1, 3)) out.push(capabilities(ctx));
    if (functions.has(Q.QueryClientRegistrationMethods) && atLeast(ctx.version, 1, 3)) {
      // Clients are registered out of band: their certificates are issued by the configured CA.
      out.push(enumeration(Tag.ClientRegistrationMethod, Enum.ClientRegistrationMethod.ClientRegistered));
    }
    if (functions.has(Q.QueryStorageProtectionMasks) && atLeast(ctx.version, 2, 0)) {
      out.push(structure(Tag.ProtectionStorageMasks, []));
    }
    return out;
  },
};

/**
 * Whether a registered operation works on this server. PKCS#11 (src/operations/pkcs11.ts) needs a
 * keyring on a PKCS#11 library; on the software keyring it only refuses (PKCS#11 Invalid Interface).
 */
function available(op: OperationDefinition, ctx: OperationContext): boolean {
  return op.name !== 'PKCS_11' || ctx.keyring.kind === 'pkcs11';
}

/** The Object Types the registered operations handle (Create, Register, Get…), in enumeration order. */
function supportedObjectTypes(ctx: OperationContext): number[] {
  const types = new Set<number>();
  for (const op of ctx.operations.supported(ctx.version)) for (const t of op.objectTypes ?? []) if (objectTypeExistsIn(t, ctx)) types.add(Enum.ObjectType[t]);
  return [...types].sort((a, b) => a - b);
}

/** kmipd's extension tag (KMIP 2.1 §5.1, 0x54xxxx) for the audit signing key's PEM in Server Information. */
export const AUDIT_PUBLIC_KEY_TAG = 0x540001;

function serverInformation(ctx: OperationContext): Item[] {
  const s = ctx.server;
  const info: Item[] = atLeast(ctx.version, 2, 0)
    ? [
        text(Tag.ServerName, `${s.product} ${s.nodeId}`),
        text(Tag.ServerVersion, s.version),
        text(Tag.ProductName, s.product),
      ]
    : [];
  // KMIP 1.x Server Information is vendor-defined; warnings go in as Description text either way.
  for (const warning of s.warnings) info.push(text(Tag.Description, warning));
  // Vendor-Specific (2.1 Table 389): the PEM public key of the audit signing key, extension tag 0x540001.
  const auditKey = s.auditPublicKey?.();
  if (auditKey !== undefined) info.push(text(AUDIT_PUBLIC_KEY_TAG, auditKey));
  return [text(Tag.VendorIdentification, s.vendor), structure(Tag.ServerInformation, info)];
}


function capabilities(ctx: OperationContext): Item {
  return structure(Tag.CapabilityInformation, [
    { tag: Tag.StreamingCapability, type: 'Boolean', value: false },
    { tag: Tag.AsynchronousCapability, type: 'Boolean', value: false },
    { tag: Tag.AttestationCapability, type: 'Boolean', value: false },
    ...(atLeast(ctx.version, 1, 4)
      ? [
          // A batch with Undo runs in one store transaction (src/server/processor.ts).
          { tag: Tag.BatchUndoCapability, type: 'Boolean' as const, value: true },
          { tag: Tag.BatchContinueCapability, type: 'Boolean' as const, value: true },
        ]
      : []),
  ]);
}

function enumeration(tag: number, value: number): Item {
  return { tag, type: 'Enumeration', value };
}

function text(tag: number, value: string): Item {
  return { tag, type: 'TextString', value };
}
