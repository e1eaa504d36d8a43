/**
 * The managed-object model shared by the object rules (src/objects), the store (src/store) and the
 * operations. Attributes are kept in their KMIP 2.1 form: each instance is the attribute's own
 * item (`Name` → Structure{NameValue, NameType}, `State` → Enumeration, a vendor attribute →
 * `Attribute` Structure{VendorIdentification, AttributeName, AttributeValue}, as 2.1 §4.60 and the
 * OASIS 2.1 test cases encode it; there is no Vendor Attribute tag). KMIP 1.x
 * Attribute{Name, Index, Value} structures are converted at the message edge (src/objects/v1-attributes.ts).
 */
import type { Item } from '../ttlv/index.js';
import type { Enum } from '../kmip/registry.generated.js';

export type ObjectTypeName = keyof typeof Enum.ObjectType;
export type StateName = keyof typeof Enum.State;

/** A branded Unique Identifier: parse at the edge, trust inside. */
export type UniqueIdentifier = string & { readonly __brand: 'UniqueIdentifier' };

export interface ManagedObjectRecord {
  readonly uid: UniqueIdentifier;
  readonly objectType: ObjectTypeName;
  state: StateName;
  /** The identity that created or registered the object; only it may see or use the object. */
  readonly owner: string;
  /** Every attribute instance, server-set ones included, in KMIP 2.1 form. */
  attributes: Item[];
  /**
   * The object's value (key block, certificate, secret data…) as sealed bytes: the store never
   * sees plaintext key material. Absent after Destroy (metadata remains).
   */
  sealedValue?: Uint8Array;
  /** Archived by the Archive operation (KMIP 2.1 §6.1.4); Recover brings it back on-line. */
  archived?: boolean;
}
