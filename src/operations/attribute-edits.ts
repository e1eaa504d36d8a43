/**
 * What the attribute operations (Add, Modify, Delete, Set, Adjust Attribute) share: the one
 * attribute inside a 2.x New Attribute / Current Attribute structure, and the body that loads the
 * caller's object, applies an edit, stamps Last Change Date and stores it in one transaction.
 */
import type { Item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Tag } from '../kmip/registry.generated.js';
import { stampLastChange } from '../objects/attribute-rules.js';
import { find, sameItem } from '../objects/items.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import type { StoreReader } from '../store/types.js';
import { checkNamesUnique, ownObject, reason, targetUid, uidItem } from './managed.js';
import { residentRefOf } from './hsm-resident.js';
import type { OperationContext } from './registry.js';

/** The attribute a 2.x New Attribute or Current Attribute wraps (2.1 §7.2, §7.6): exactly one. */
export function wrappedAttribute(payload: Fields, tag: number, required: true): Item;
export function wrappedAttribute(payload: Fields, tag: number, required: false): Item | undefined;
export function wrappedAttribute(payload: Fields, tag: number, required: boolean): Item | undefined {
  const wrapper = required ? payload.required(tag) : payload.optional(tag);
  if (wrapper === undefined) return undefined;
  if (wrapper.type !== 'Structure' || wrapper.value.length !== 1) {
    throw new KmipError('InvalidMessage', `${tag === Tag.NewAttribute ? 'New Attribute' : 'Current Attribute'} must hold exactly one attribute`);
  }
  return wrapper.value[0]!;
}

/**
 * 2.1 §4.32: a Name given in an edit must not be another object's (Non Unique Name Attribute), nor
 * end up twice on this one; a Name the object already holds and keeps once (a Modify or Set to the
 * same value) is fine.
 */
export async function checkNewNames(reader: StoreReader, before: readonly Item[], after: readonly Item[], attrs: readonly Item[], ctx: OperationContext): Promise<void> {
  for (const name of attrs.filter((a) => a.tag === Tag.Name)) {
    if (!before.some((b) => sameItem(name, b))) await checkNamesUnique(reader, [name], ctx);
    else if (after.filter((a) => sameItem(name, a)).length > 1) {
      throw new KmipError(reason(ctx, 'NonUniqueNameAttribute', 'InvalidField'), 'the object already has this Name (KMIP 2.1 §4.32)');
    }
  }
}

export interface Edit {
  readonly attributes: Item[];
  /** What the response carries after the Unique Identifier (the 1.x Attribute). */
  readonly respond?: readonly Item[];
}

/**
 * In one transaction: the caller's object (the request's Unique Identifier or the ID Placeholder),
 * `edit` applied at the current time, Last Change Date stamped, stored. Answers the Unique
 * Identifier and whatever the edit adds.
 */
export async function editObject(
  payload: Fields,
  ctx: OperationContext,
  edit: (record: ManagedObjectRecord, now: number, reader: StoreReader) => Edit | Promise<Edit>,
): Promise<Item[]> {
  const uid = targetUid(payload, ctx);
  let respond: readonly Item[] = [];
  await ctx.store.transaction(async (tx) => {
    const record = await ownObject(tx, uid, ctx);
    const now = ctx.clock.now();
    const result = await edit(record, now, tx);
    if (residentRefOf(record) !== undefined) keepResidentProtected(result.attributes, ctx);
    record.attributes = stampLastChange(result.attributes, now);
    respond = result.respond ?? [];
    await tx.update(record);
  });
  return [uidItem(uid), ...respond];
}

/**
 * A key generated inside the HSM can never leave it (src/operations/hsm-resident.ts): its
 * Extractable cannot become True nor its Sensitive False, which would only make the attributes lie.
 */
function keepResidentProtected(attributes: readonly Item[], ctx: OperationContext): void {
  const extractable = find(attributes, Tag.Extractable);
  const sensitive = find(attributes, Tag.Sensitive);
  if ((extractable?.type === 'Boolean' && extractable.value) || (sensitive?.type === 'Boolean' && !sensitive.value)) {
    throw new KmipError(reason(ctx, 'AttributeReadOnly', 'PermissionDenied'), 'the key lives inside the HSM and cannot be made Extractable or not Sensitive');
  }
}
