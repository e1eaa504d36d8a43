/**
 * The operation side of key wrapping (src/objects/key-wrapping.ts does the cryptography): Get
 * with a Key Wrapping Specification returns the key wrapped under another of the caller's keys,
 * and Register of a key block with Key Wrapping Data unwraps it before it is sealed, so the
 * plaintext never reaches the store unsealed.
 */
import type { Item, StructureItem } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Tag } from '../kmip/registry.generated.js';
import { child, find } from '../objects/items.js';
import { type Direction, type WrappingKey, type WrappingRequest, checkWrappingKey, parseWrapping, resolveParameters, unwrapObject, wrapObject } from '../objects/key-wrapping.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import { ownObject, unsealObject } from './managed.js';
import type { OperationContext } from './registry.js';

/** The caller's wrapping key, checked for `direction`, unsealed, with the parameters to use. */
async function wrappingKey(ctx: OperationContext, request: WrappingRequest, direction: Direction): Promise<{ key: WrappingKey; params: StructureItem }> {
  // Another owner's key is Item Not Found, exactly as if it did not exist (1.4 §11.12 "Wrapping key does not exist").
  const record = await ctx.store.read((reader) => ownObject(reader, request.keyUid as UniqueIdentifier, ctx));
  checkWrappingKey(record, direction, ctx.clock.now(), ctx.version);
  const params = resolveParameters(record, request.parameters, ctx.version);
  const value = await unsealObject(ctx, record);
  return { key: { record, value }, params };
}

/** Zeroes the key bytes of an unsealed wrapping key once the request is done with them. */
function forget(value: Item): void {
  const block = child(value, Tag.KeyBlock);
  const material = child(child(block ?? value, Tag.KeyValue) ?? value, Tag.KeyMaterial);
  if (material?.type === 'ByteString') material.value.fill(0);
}

/**
 * Get's answer: `value` itself, or wrapped as the request's Key Wrapping Specification asks
 * (KMIP 2.1 §6.1.19, §7.18). The key to return must be extractable (2.1 §4.23).
 */
export async function wrapIfRequested(payload: Fields, ctx: OperationContext, record: ManagedObjectRecord, value: Item): Promise<Item> {
  const spec = payload.optional(Tag.KeyWrappingSpecification);
  if (spec === undefined) return value;
  const request = parseWrapping(spec, ctx.version);
  const extractable = find(record.attributes, Tag.Extractable);
  if (extractable?.type === 'Boolean' && !extractable.value) throw new KmipError('NotExtractable', `object ${record.uid} is not Extractable, so it cannot leave the server even wrapped`);
  const { key, params } = await wrappingKey(ctx, request, 'wrap');
  try {
    return wrapObject(value, key, request, params, ctx.version);
  } finally {
    forget(key.value);
  }
}

/**
 * Register's object value with its key block unwrapped, if it carries Key Wrapping Data (KMIP
 * 2.1 §3.3); unchanged otherwise. The unwrapping key needs the Unwrap Key usage.
 */
export async function unwrapIfWrapped(value: Item, ctx: OperationContext): Promise<Item> {
  if (value.type !== 'Structure') return value;
  const data = child(child(value, Tag.KeyBlock) ?? value, Tag.KeyWrappingData);
  if (data === undefined) return value;
  const request = parseWrapping(data, ctx.version);
  const { key, params } = await wrappingKey(ctx, request, 'unwrap');
  try {
    return unwrapObject(value, key, request, params, ctx.version);
  } finally {
    forget(key.value);
  }
}

/**
 * Import's object value with its key block unwrapped by KMIP 2.1 §3.3 alone: the Cryptographic
 * Parameters in the Key Wrapping Data say how the key was wrapped (the exporting server chose them)
 * and are used as given, else the unwrapping key's own. Unlike a Key Wrapping Specification's
 * (§7.18), they need not match one of the key's Cryptographic Parameters attribute instances.
 */
export async function unwrapAsWrapped(value: Item, ctx: OperationContext): Promise<Item> {
  if (value.type !== 'Structure') return value;
  const data = child(child(value, Tag.KeyBlock) ?? value, Tag.KeyWrappingData);
  if (data === undefined) return value;
  const request = parseWrapping(data, ctx.version);
  const { key, params: own } = await wrappingKey(ctx, { ...request, parameters: undefined }, 'unwrap');
  try {
    return unwrapObject(value, key, request, request.parameters ?? own, ctx.version);
  } finally {
    forget(key.value);
  }
}
