/**
 * Generates the KMIP registry (tags, item types, enumerations, bit masks) from the text of the
 * OASIS KMIP Specification 1.4 and 2.1 (../shared/kmip-spec/*.txt, one table row per
 * `| cell | cell |` line) and writes
 *
 *   schemas/kmip-registry.json      — the registry as data (hex strings, per-version presence)
 *   src/kmip/registry.generated.ts  — the same as TypeScript constants (Tag, Enum, Mask, ...)
 *
 * Usage:  npx tsx scripts/gen-registry.ts           (write both files)
 *         npx tsx scripts/gen-registry.ts --check   (regenerate in memory; exit 1 on drift)
 *
 * The shared folder is `<repo>/../shared`, or $KMIP_SHARED_DIR when set.
 *
 * Everything that is not in the two spec texts is in the small, commented tables below
 * (version boundaries for 1.0-1.3 and 2.0, names the spec gets wrong, values that the spec
 * defines by reference to PKCS#11). Each states its source.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ItemTypeName, itemTypeNames } from '../src/ttlv/types.js';

// ---------------------------------------------------------------------------------------------
// Versions and item types
// ---------------------------------------------------------------------------------------------

export const VERSIONS = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'] as const;
export type Version = (typeof VERSIONS)[number];
const V1: readonly Version[] = ['1.0', '1.1', '1.2', '1.3', '1.4'];

const ITEM_TYPE_NAMES = itemTypeNames;

// ---------------------------------------------------------------------------------------------
// Name normalisation
// ---------------------------------------------------------------------------------------------

/**
 * The spec name → XML/JSON name rule, "Normalizing Names" in KMIP Additional Message Encodings
 * v1.0 §4.1.3 (JSON) / §6.1.3 (XML), carried into KMIP Profiles (§5.4.1.1 / §5.5.1.1, as cited
 * by kmip-go internal/kmiputil/names.go); the 2.1 test cases use the XML encoding of §5.4.1:
 *   1. replace round brackets '(' ')' with spaces;
 *   2. a non-word character (not letter, digit or '_') followed by a letter and then a lower-case
 *      letter becomes a space (word boundary: "Pre-Active" → "Pre Active", "Re-key" → "Re key");
 *   3. every other non-word character except space becomes '_' ("SHA-256" → "SHA_256",
 *      "PKCS#1" → "PKCS_1", "X.509" → "X_509", "HMAC-SHA256" → "HMAC_SHA256");
 *   4. digits at the start of the first word move to the end of that word ("3DES" → "DES3");
 *   5. capitalise the first letter of each word;
 *   6. concatenate the words.
 */
export function normalizeName(spec: string): string {
  let s = cleanTitle(spec).replace(/[()]/g, ' ');
  s = s.replace(/[^A-Za-z0-9_]([A-Za-z][a-z])/g, ' $1');
  s = s.replace(/[^A-Za-z0-9_ ]/g, '_');
  const words = s.split(' ').filter((w) => w.length > 0);
  return words
    .map((w, i) => {
      if (i === 0) {
        const m = /^(\d+)(.*)$/.exec(w);
        if (m) w = (m[2] ?? '') + (m[1] ?? '');
      }
      return w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join('');
}

/** The spec's own spelling with extraction junk (U+FFFD, odd spacing) removed. */
export function cleanTitle(s: string): string {
  return s
    .replace(/\uFFFD/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Facts that are not in the 1.4 / 2.1 texts
// ---------------------------------------------------------------------------------------------

/**
 * First KMIP version of each tag, by tag number. Tag numbers were assigned sequentially, so
 * each version added one contiguous range. Source: PyKMIP kmip/core/enums.py (class Tags,
 * "# KMIP 1.x" section comments), github.com/OpenKMIP/PyKMIP commit 82656a7f; the 2.0/2.1 split
 * (0x420166-0x420176 are 2.1) agrees with ../shared/kmip-spec/registry-kmip-go/SOURCE.md and the
 * KMIP 2.0 additions there (0x420125-0x420165). Whether a tag still exists in 1.4 / 2.x comes
 * from the spec texts (2.x marks withdrawn 1.x tags "(Reserved)").
 */
const TAG_SINCE: readonly (readonly [number, number, Version])[] = [
  [0x420001, 0x4200a1, '1.0'],
  [0x4200a2, 0x4200b7, '1.1'],
  [0x4200b8, 0x4200d3, '1.2'],
  [0x4200d4, 0x4200f7, '1.3'],
  [0x4200f8, 0x420124, '1.4'],
  [0x420125, 0x420165, '2.0'],
  [0x420166, 0x420176, '2.1'],
];

/**
 * First KMIP version of enumeration / mask values, as [first value, last value, version]
 * ranges per enumeration (by normalised name); `since` is the version of values no range
 * covers. Sources: PyKMIP kmip/core/enums.py @82656a7f ("# KMIP 1.x" comments) and libkmip
 * include/kmip.h (github.com/OpenKMIP/libkmip @028b74e1, same comments; used for Result Reason,
 * where PyKMIP files everything up to 0x18 under 1.0). Values that appear in the 2.1 text but not
 * in 1.4 default to 2.0; the 2.1 additions are those of the 2.1 revision history (Appendix D:
 * Set Defaults, Set Constraints, Rotate, Query/Process Asynchronous, Ping) and the enumerations
 * SOURCE.md lists as missing from the 2.0 data.
 * Result Reason 0x48/0x49 (Private/Public Protection Storage Unavailable): libkmip files them under
 * 2.0, PyKMIP and the kmip-go 2.0 data stop at 0x47; taken as 2.0 (they belong with the 2.0
 * Private/Public Protection Storage Masks tags, and the 2.1 revision history does not list them).
 * A 1.x value that 2.1 marks "(Reserved)" is taken as reserved from 2.0 on (PyKMIP: "designated
 * '(Reserved)' in KMIP 2.0"), except the values in ONLY_IN_2_0.
 */
interface EnumFacts {
  since: Version;
  ranges?: readonly (readonly [number, number, Version])[];
}
const ENUM_FACTS: Readonly<Record<string, EnumFacts>> = {
  AdjustmentType: { since: '2.0' },
  AlternativeNameType: { since: '1.2' },
  AsynchronousIndicator: { since: '2.0' },
  AttestationType: { since: '1.2' },
  BatchErrorContinuationOption: { since: '1.0' },
  BlockCipherMode: { since: '1.0', ranges: [[0x12, 0x12, '1.4']] },
  CancellationResult: { since: '1.0' },
  CertificateRequestType: { since: '1.0' },
  CertificateType: { since: '1.0' },
  ClientRegistrationMethod: { since: '1.3' },
  CredentialType: {
    since: '1.0',
    ranges: [
      [0x02, 0x02, '1.1'],
      [0x03, 0x03, '1.2'],
      [0x04, 0x06, '2.0'],
    ],
  },
  CryptographicAlgorithm: {
    since: '1.0',
    ranges: [
      [0x1a, 0x1a, '1.2'],
      [0x1b, 0x1b, '1.3'],
      [0x1c, 0x28, '1.4'],
      [0x29, 0x38, '2.0'],
    ],
  },
  Data: { since: '2.0' },
  DerivationMethod: {
    since: '1.0',
    ranges: [
      [0x08, 0x08, '1.4'],
      [0x09, 0x0a, '2.0'],
    ],
  },
  DestroyAction: { since: '1.3' },
  DigitalSignatureAlgorithm: { since: '1.1', ranges: [[0x11, 0x13, '1.4']] },
  DRBGAlgorithm: { since: '1.3' },
  EncodingOption: { since: '1.1' },
  EndpointRole: { since: '2.0' },
  FIPS186Variation: { since: '1.3' },
  HashingAlgorithm: {
    since: '1.0',
    ranges: [
      [0x0c, 0x0d, '1.2'],
      [0x0e, 0x11, '1.4'],
    ],
  },
  InteropFunction: { since: '2.0' },
  // As an enumeration (the value of Extension Type) Item Type is 2.0; 1.x carries it as Integer.
  ItemType: { since: '2.0' },
  KeyCompressionType: { since: '1.0' },
  KeyFormatType: {
    since: '1.0',
    ranges: [
      [0x14, 0x15, '1.3'],
      [0x16, 0x16, '1.4'],
      [0x17, 0x17, '2.0'],
    ],
  },
  KeyRoleType: { since: '1.0', ranges: [[0x16, 0x18, '1.4']] },
  KeyValueLocationType: { since: '1.2' },
  KeyWrapType: { since: '1.4' },
  LinkType: {
    since: '1.0',
    ranges: [
      [0x108, 0x10b, '1.2'],
      [0x10c, 0x10d, '1.4'],
      [0x10e, 0x10e, '2.0'],
    ],
  },
  MaskGenerator: { since: '1.4' },
  NameType: { since: '1.0' },
  NISTKeyType: { since: '2.0' },
  ObjectGroupMember: { since: '1.1' },
  ObjectType: {
    since: '1.0',
    ranges: [
      [0x09, 0x09, '1.2'],
      [0x0a, 0x0a, '2.0'],
    ],
  },
  OpaqueDataType: { since: '1.0' },
  Operation: {
    since: '1.0',
    ranges: [
      [0x1d, 0x1e, '1.1'],
      [0x1f, 0x29, '1.2'],
      [0x2a, 0x2b, '1.4'],
      [0x2c, 0x35, '2.0'],
      [0x36, 0x3b, '2.1'],
    ],
  },
  PaddingMethod: { since: '1.0' },
  PKCS_11Function: { since: '2.0' },
  PKCS_11ReturnCode: { since: '2.0' },
  ProcessingStage: { since: '2.1' },
  ProfileName: {
    since: '1.3',
    ranges: [
      [0x79, 0x9c, '1.4'],
      [0x104, 0x12c, '2.0'],
    ],
  },
  ProtectionLevel: { since: '2.0' },
  PutFunction: { since: '1.0' },
  QueryFunction: {
    since: '1.0',
    ranges: [
      [0x05, 0x06, '1.1'],
      [0x07, 0x07, '1.2'],
      [0x08, 0x0c, '1.3'],
      [0x0d, 0x0e, '2.0'],
    ],
  },
  RecommendedCurve: {
    since: '1.0',
    ranges: [
      [0x10, 0x44, '1.2'],
      [0x45, 0x46, '2.0'],
    ],
  },
  ResultReason: {
    since: '1.0',
    ranges: [
      [0x12, 0x12, '1.1'],
      [0x13, 0x15, '1.2'],
      [0x16, 0x18, '1.4'],
      [0x19, 0x49, '2.0'],
      [0x4a, 0x4c, '2.1'],
    ],
  },
  ResultStatus: { since: '1.0' },
  RevocationReasonCode: { since: '1.0' },
  RNGAlgorithm: { since: '1.3' },
  RNGMode: { since: '1.3' },
  RotateNameType: { since: '2.1' },
  SecretDataType: { since: '1.0' },
  ShreddingAlgorithm: { since: '1.3' },
  SplitKeyMethod: { since: '1.0', ranges: [[0x04, 0x04, '1.2']] },
  State: { since: '1.0' },
  TicketType: { since: '2.0' },
  UniqueIdentifier: { since: '2.0' },
  UnwrapMode: { since: '1.3' },
  UsageLimitsUnit: { since: '1.0' },
  ValidationAuthorityType: { since: '1.3' },
  ValidationType: { since: '1.3' },
  ValidityIndicator: { since: '1.0' },
  WrappingMethod: { since: '1.0' },
  // Bit masks
  CryptographicUsageMask: { since: '1.0', ranges: [[0x00100000, 0x00800000, '2.0']] },
  StorageStatusMask: { since: '1.0', ranges: [[0x04, 0x04, '2.0']] },
  ProtectionStorageMask: { since: '2.0' },
};

/**
 * Values that existed in KMIP 2.0 only: 2.1 marks them "(Reserved)" and 1.4 does not have them.
 * Source: PyKMIP enums.py @82656a7f ProfileName 0x118-0x11B (KMIP 2.0), kmip-go
 * kmip_2_0_additions.json (cross-check). Titles follow the 1.4 spelling without "KMIP v1.x".
 */
const ONLY_IN_2_0: readonly { set: string; title: string; value: number }[] = [
  { set: 'ProfileName', title: 'Suite B minLOS_128 Client', value: 0x118 },
  { set: 'ProfileName', title: 'Suite B minLOS_128 Server', value: 0x119 },
  { set: 'ProfileName', title: 'Suite B minLOS_192 Client', value: 0x11a },
  { set: 'ProfileName', title: 'Suite B minLOS_192 Server', value: 0x11b },
];

/**
 * KMIP 2.x §11.38: "The PKCS#11 Function enumerations are the 1-based offset count of the
 * function in the CK_FUNCTION_LIST_3_0 structure" (the leading CK_VERSION member is not a
 * function, so C_Initialize = 1). Order from the PKCS#11 v3.0 CK_FUNCTION_LIST_3_0 definition
 * (pkcs11f.h; checked against an initialiser of struct CK_FUNCTION_LIST_3_0 in NXP's pkcs11smw).
 */
const PKCS11_FUNCTIONS = [
  'C_Initialize', 'C_Finalize', 'C_GetInfo', 'C_GetFunctionList', 'C_GetSlotList',
  'C_GetSlotInfo', 'C_GetTokenInfo', 'C_GetMechanismList', 'C_GetMechanismInfo', 'C_InitToken',
  'C_InitPIN', 'C_SetPIN', 'C_OpenSession', 'C_CloseSession', 'C_CloseAllSessions',
  'C_GetSessionInfo', 'C_GetOperationState', 'C_SetOperationState', 'C_Login', 'C_Logout',
  'C_CreateObject', 'C_CopyObject', 'C_DestroyObject', 'C_GetObjectSize', 'C_GetAttributeValue',
  'C_SetAttributeValue', 'C_FindObjectsInit', 'C_FindObjects', 'C_FindObjectsFinal',
  'C_EncryptInit', 'C_Encrypt', 'C_EncryptUpdate', 'C_EncryptFinal', 'C_DecryptInit',
  'C_Decrypt', 'C_DecryptUpdate', 'C_DecryptFinal', 'C_DigestInit', 'C_Digest',
  'C_DigestUpdate', 'C_DigestKey', 'C_DigestFinal', 'C_SignInit', 'C_Sign', 'C_SignUpdate',
  'C_SignFinal', 'C_SignRecoverInit', 'C_SignRecover', 'C_VerifyInit', 'C_Verify',
  'C_VerifyUpdate', 'C_VerifyFinal', 'C_VerifyRecoverInit', 'C_VerifyRecover',
  'C_DigestEncryptUpdate', 'C_DecryptDigestUpdate', 'C_SignEncryptUpdate',
  'C_DecryptVerifyUpdate', 'C_GenerateKey', 'C_GenerateKeyPair', 'C_WrapKey', 'C_UnwrapKey',
  'C_DeriveKey', 'C_SeedRandom', 'C_GenerateRandom', 'C_GetFunctionStatus', 'C_CancelFunction',
  'C_WaitForSlotEvent', 'C_GetInterfaceList', 'C_GetInterface', 'C_LoginUser',
  'C_SessionCancel', 'C_MessageEncryptInit', 'C_EncryptMessage', 'C_EncryptMessageBegin',
  'C_EncryptMessageNext', 'C_MessageEncryptFinal', 'C_MessageDecryptInit', 'C_DecryptMessage',
  'C_DecryptMessageBegin', 'C_DecryptMessageNext', 'C_MessageDecryptFinal', 'C_MessageSignInit',
  'C_SignMessage', 'C_SignMessageBegin', 'C_SignMessageNext', 'C_MessageSignFinal',
  'C_MessageVerifyInit', 'C_VerifyMessage', 'C_VerifyMessageBegin', 'C_VerifyMessageNext',
  'C_MessageVerifyFinal',
] as const;

/**
 * KMIP 2.x §11.39: "PKCS#11 return codes as specified in the CK_RV values in [PKCS#11]". The
 * CKR_* values of PKCS#11 v3.0 (pkcs11t.h). The OASIS test case PKCS11-M-1-21 writes CKR_OK as
 * "OK", so the KMIP name is the constant without its "CKR_" prefix.
 */
const PKCS11_RETURN_CODES: readonly (readonly [string, number])[] = [
  ['CKR_OK', 0x000], ['CKR_CANCEL', 0x001], ['CKR_HOST_MEMORY', 0x002],
  ['CKR_SLOT_ID_INVALID', 0x003], ['CKR_GENERAL_ERROR', 0x005], ['CKR_FUNCTION_FAILED', 0x006],
  ['CKR_ARGUMENTS_BAD', 0x007], ['CKR_NO_EVENT', 0x008], ['CKR_NEED_TO_CREATE_THREADS', 0x009],
  ['CKR_CANT_LOCK', 0x00a], ['CKR_ATTRIBUTE_READ_ONLY', 0x010],
  ['CKR_ATTRIBUTE_SENSITIVE', 0x011], ['CKR_ATTRIBUTE_TYPE_INVALID', 0x012],
  ['CKR_ATTRIBUTE_VALUE_INVALID', 0x013], ['CKR_ACTION_PROHIBITED', 0x01b],
  ['CKR_DATA_INVALID', 0x020], ['CKR_DATA_LEN_RANGE', 0x021], ['CKR_DEVICE_ERROR', 0x030],
  ['CKR_DEVICE_MEMORY', 0x031], ['CKR_DEVICE_REMOVED', 0x032],
  ['CKR_ENCRYPTED_DATA_INVALID', 0x040], ['CKR_ENCRYPTED_DATA_LEN_RANGE', 0x041],
  ['CKR_AEAD_DECRYPT_FAILED', 0x042], ['CKR_FUNCTION_CANCELED', 0x050],
  ['CKR_FUNCTION_NOT_PARALLEL', 0x051], ['CKR_FUNCTION_NOT_SUPPORTED', 0x054],
  ['CKR_KEY_HANDLE_INVALID', 0x060], ['CKR_KEY_SIZE_RANGE', 0x062],
  ['CKR_KEY_TYPE_INCONSISTENT', 0x063], ['CKR_KEY_NOT_NEEDED', 0x064],
  ['CKR_KEY_CHANGED', 0x065], ['CKR_KEY_NEEDED', 0x066], ['CKR_KEY_INDIGESTIBLE', 0x067],
  ['CKR_KEY_FUNCTION_NOT_PERMITTED', 0x068], ['CKR_KEY_NOT_WRAPPABLE', 0x069],
  ['CKR_KEY_UNEXTRACTABLE', 0x06a], ['CKR_MECHANISM_INVALID', 0x070],
  ['CKR_MECHANISM_PARAM_INVALID', 0x071], ['CKR_OBJECT_HANDLE_INVALID', 0x082],
  ['CKR_OPERATION_ACTIVE', 0x090], ['CKR_OPERATION_NOT_INITIALIZED', 0x091],
  ['CKR_PIN_INCORRECT', 0x0a0], ['CKR_PIN_INVALID', 0x0a1], ['CKR_PIN_LEN_RANGE', 0x0a2],
  ['CKR_PIN_EXPIRED', 0x0a3], ['CKR_PIN_LOCKED', 0x0a4], ['CKR_SESSION_CLOSED', 0x0b0],
  ['CKR_SESSION_COUNT', 0x0b1], ['CKR_SESSION_HANDLE_INVALID', 0x0b3],
  ['CKR_SESSION_PARALLEL_NOT_SUPPORTED', 0x0b4], ['CKR_SESSION_READ_ONLY', 0x0b5],
  ['CKR_SESSION_EXISTS', 0x0b6], ['CKR_SESSION_READ_ONLY_EXISTS', 0x0b7],
  ['CKR_SESSION_READ_WRITE_SO_EXISTS', 0x0b8], ['CKR_SIGNATURE_INVALID', 0x0c0],
  ['CKR_SIGNATURE_LEN_RANGE', 0x0c1], ['CKR_TEMPLATE_INCOMPLETE', 0x0d0],
  ['CKR_TEMPLATE_INCONSISTENT', 0x0d1], ['CKR_TOKEN_NOT_PRESENT', 0x0e0],
  ['CKR_TOKEN_NOT_RECOGNIZED', 0x0e1], ['CKR_TOKEN_WRITE_PROTECTED', 0x0e2],
  ['CKR_UNWRAPPING_KEY_HANDLE_INVALID', 0x0f0], ['CKR_UNWRAPPING_KEY_SIZE_RANGE', 0x0f1],
  ['CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT', 0x0f2], ['CKR_USER_ALREADY_LOGGED_IN', 0x100],
  ['CKR_USER_NOT_LOGGED_IN', 0x101], ['CKR_USER_PIN_NOT_INITIALIZED', 0x102],
  ['CKR_USER_TYPE_INVALID', 0x103], ['CKR_USER_ANOTHER_ALREADY_LOGGED_IN', 0x104],
  ['CKR_USER_TOO_MANY_TYPES', 0x105], ['CKR_WRAPPED_KEY_INVALID', 0x110],
  ['CKR_WRAPPED_KEY_LEN_RANGE', 0x112], ['CKR_WRAPPING_KEY_HANDLE_INVALID', 0x113],
  ['CKR_WRAPPING_KEY_SIZE_RANGE', 0x114], ['CKR_WRAPPING_KEY_TYPE_INCONSISTENT', 0x115],
  ['CKR_RANDOM_SEED_NOT_SUPPORTED', 0x120], ['CKR_RANDOM_NO_RNG', 0x121],
  ['CKR_DOMAIN_PARAMS_INVALID', 0x130], ['CKR_CURVE_NOT_SUPPORTED', 0x140],
  ['CKR_BUFFER_TOO_SMALL', 0x150], ['CKR_SAVED_STATE_INVALID', 0x160],
  ['CKR_INFORMATION_SENSITIVE', 0x170], ['CKR_STATE_UNSAVEABLE', 0x180],
  ['CKR_CRYPTOKI_NOT_INITIALIZED', 0x190], ['CKR_CRYPTOKI_ALREADY_INITIALIZED', 0x191],
  ['CKR_MUTEX_BAD', 0x1a0], ['CKR_MUTEX_NOT_LOCKED', 0x1a1], ['CKR_NEW_PIN_MODE', 0x1b0],
  ['CKR_NEXT_OTP', 0x1b1], ['CKR_EXCEEDED_MAX_ITERATIONS', 0x1b5],
  ['CKR_FIPS_SELF_TEST_FAILED', 0x1b6], ['CKR_LIBRARY_LOAD_FAILED', 0x1b7],
  ['CKR_PIN_TOO_WEAK', 0x1b8], ['CKR_PUBLIC_KEY_INVALID', 0x1b9],
  ['CKR_FUNCTION_REJECTED', 0x200], ['CKR_TOKEN_RESOURCE_EXCEEDED', 0x201],
  ['CKR_OPERATION_CANCEL_FAILED', 0x202],
];

/**
 * Value names where the spec's own spelling must not be used as is, keyed by
 * "<enumeration or mask name>:<spec title>".
 */
const VALUE_NAME_EXCEPTIONS: Readonly<Record<string, string>> = {
  // 2.1 §11.30 spells the mask generation function "MFG1"; 1.4 §9.1.3.2.49, the 1.4 OAEP test
  // cases (CS-AC-M-OAEP-*-14) and RFC 8017 call it MGF1. Keep MGF1; "MFG1" stays as an alias.
  'MaskGenerator:MFG1': 'MGF1',
};

/**
 * Value titles the text extraction damaged, keyed like VALUE_NAME_EXCEPTIONS: the spec writes
 * "GF (2<sup>16</sup>)" and the .txt flattens it to "GF (216)", which would normalise to
 * PolynomialSharingGF216. With the exponent restored the name is PolynomialSharingGF2_16 (as in
 * PyKMIP POLYNOMIAL_SHARING_GF_2_16); the flattened spelling stays as an alias.
 */
const VALUE_TITLE_FIXES: Readonly<Record<string, string>> = {
  'SplitKeyMethod:Polynomial Sharing GF (216)': 'Polynomial Sharing GF (2^16)',
  'SplitKeyMethod:Polynomial Sharing GF (28)': 'Polynomial Sharing GF (2^8)',
};

/**
 * Which enumeration a tag's Enumeration values come from, where the tag and the enumeration do
 * not share a name and the encoding table gives no "Enumeration (X)" hint.
 */
const TAG_ENUMERATION_EXCEPTIONS: Readonly<Record<string, string>> = {
  // Cryptographic Parameters (1.4 §3.6, 2.1 §4.16): the hashing algorithm of the mask generator,
  // with Hashing Algorithm values.
  MaskGeneratorHashingAlgorithm: 'HashingAlgorithm',
  // 2.1 §4.31 Link: "Text String/Enumeration/Integer", like Unique Identifier (§4.58, §11.58).
  LinkedObjectIdentifier: 'UniqueIdentifier',
};

/**
 * Item types for tags that no `| Item | Encoding |` table in either spec gives: the payload
 * tables (`| Item | REQUIRED | Description |`) describe them in prose, quoted here. The
 * generator refuses an entry here once a spec table does encode the tag.
 */
const TAG_TYPE_EXCEPTIONS: Readonly<Record<string, { types: ItemTypeName[]; enumeration?: string }>> =
  {
    // Locate (1.4 §4.9, 2.1 §6.1.28): "An Integer object that indicates the number of object
    // identifiers to skip ..." / "... that satisfy the identification criteria".
    OffsetItems: { types: ['Integer'] },
    LocatedItems: { types: ['Integer'] },
    // 1.4 §3.44 / 2.1 §4.46: "| Random Number Generator | RNG Parameters (see 2.1.18) |" — the
    // RNG Parameters structure.
    RandomNumberGenerator: { types: ['Structure'] },
    // Query responses: "Contains Client Registration Method enumerated values" (§11.10).
    ClientRegistrationMethod: { types: ['Enumeration'] },
    // Get / Export: "Determines the Key Wrap Type of the returned key value" (§11.29 values).
    KeyWrapType: { types: ['Enumeration'] },
    // Sign / Signature Verify: "The digested data to be signed (as a Byte String)".
    DigestedData: { types: ['ByteString'] },
    // Import: "Replace Existing | No | A Boolean."
    ReplaceExisting: { types: ['Boolean'] },
    // 2.1 Table 389 Server Information: "| Alternative failover endpoints | Text String, MAY be
    // repeated |" (the tag is spelled "Alternate Failover Endpoints" in §11.56).
    AlternateFailoverEndpoints: { types: ['TextString'] },
    // Certify / Re-certify: "The Unique Identifier of the Certificate Request" (a Text String,
    // like the other object identifiers).
    CertificateRequestUniqueIdentifier: { types: ['TextString'] },
    // Login: "The integer count of the number of requests that can be made with the ticket".
    RequestCount: { types: ['Integer'] },
    // Set Endpoint Role: "The endpoint role for the server to apply" (§11.19 values).
    EndpointRole: { types: ['Enumeration'] },
    // Request batch item: "Ephemeral | No | Indicates that the Data output ... Boolean."
    Ephemeral: { types: ['Boolean'] },
    // Response header: "Hash(Timestamp || S1 || Hash(S2))" — a hash value.
    ServerHashedPassword: { types: ['ByteString'] },
    // Adjust Attribute: "The adjustment to be made" (§11.1 values) and "The value for the
    // adjustment", which §11.1 applies to Integer, Long Integer, Big Integer, Interval, Date Time
    // and Date Time Extended attributes — so its type varies.
    AdjustmentType: { types: ['Enumeration'] },
    AdjustmentValue: { types: [] },
    // Create Key Pair / Register: "Specifies all Protection Storage Mask selections that are
    // permissible ..." — structures of Protection Storage Mask, like Protection Storage Masks.
    CommonProtectionStorageMasks: { types: ['Structure'] },
    PrivateProtectionStorageMasks: { types: ['Structure'] },
    PublicProtectionStorageMasks: { types: ['Structure'] },
    // 2.1 §11.56 assigns 0x420138 "Tag" but no table encodes it; by its name and by Attribute
    // Reference ("Enumeration (Tag)") it carries a tag number as an Enumeration.
    Tag: { types: ['Enumeration'], enumeration: 'Tag' },
  };

/**
 * Rows of the (non-normative) 1.4 Appendix C Tag Cross-Reference that contradict the body.
 */
const XREF_ERRATA: ReadonlySet<string> = new Set([
  // "| MAC/Signature Key Information | 2.1.5 | Text String |": §2.1.5 Table 11 defines it as a
  // Structure (Unique Identifier + Cryptographic Parameters).
  'MACSignatureKeyInformation',
]);

// ---------------------------------------------------------------------------------------------
// Spec text access
// ---------------------------------------------------------------------------------------------

interface SpecText {
  version: '1.4' | '2.1';
  lines: string[];
}

function cells(line: string): string[] | undefined {
  if (!line.startsWith('| ') || !line.endsWith(' |')) return undefined;
  return line
    .slice(2, -2)
    .split(' | ')
    .map((c) => cleanTitle(c));
}

function findLine(spec: SpecText, re: RegExp, from = 0): number {
  for (let i = from; i < spec.lines.length; i++) if (re.test(spec.lines[i] ?? '')) return i;
  throw new Error(`KMIP ${spec.version}: no line matches ${re}`);
}

const SKIP_TITLE = /^\(?(reserved|unused)\)?$|^extensions$/i;

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

interface RawTag {
  title: string;
  value: number;
}

function parseTagTable(spec: SpecText): Map<number, RawTag> {
  const start =
    spec.version === '1.4' ? findLine(spec, /^9\.1\.3\.1 Tags$/) : findLine(spec, /^11\.56 Tag Enumeration$/);
  const end = findLine(spec, /^Table \d+: Tag (Values|Enumeration)$/, start);
  const out = new Map<number, RawTag>();
  for (let i = start; i < end; i++) {
    const c = cells(spec.lines[i] ?? '');
    if (!c || c.length !== 2) continue;
    const [title, val] = c as [string, string];
    if (SKIP_TITLE.test(title)) continue;
    const m = /^(?:0x)?(42[0-9A-Fa-f]{4})\b/.exec(val);
    if (!m) continue;
    const value = Number.parseInt(m[1] ?? '', 16);
    if (out.has(value)) throw new Error(`KMIP ${spec.version}: tag 0x${value.toString(16)} listed twice`);
    out.set(value, { title, value });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Enumerations and masks
// ---------------------------------------------------------------------------------------------

interface RawValueSet {
  kind: 'enumeration' | 'mask';
  title: string;
  values: Map<number, string>; // value → spec title
}

function parseValueTables(spec: SpecText): Map<string, RawValueSet> {
  const out = new Map<string, RawValueSet>();
  let start: number;
  let end: number;
  let enumHead: RegExp;
  let maskHead: RegExp;
  if (spec.version === '1.4') {
    start = findLine(spec, /^9\.1\.3\.2 Enumerations$/);
    end = findLine(spec, /^10 Transport$/, start);
    enumHead = /^9\.1\.3\.2\.\d+ (.+) Enumeration$/;
    maskHead = /^9\.1\.3\.3\.\d+ (.+)$/;
  } else {
    start = findLine(spec, /^11 Enumerations$/);
    end = findLine(spec, /^13 Algorithm Implementation$/, start);
    enumHead = /^11\.\d+ (.+) Enumeration$/;
    maskHead = /^12\.\d+ (.+)$/;
  }
  let current: RawValueSet | undefined;
  let inTable = false;
  for (let i = start; i < end; i++) {
    const line = spec.lines[i] ?? '';
    const e = enumHead.exec(line);
    const m = e ? undefined : maskHead.exec(line);
    if (e || m) {
      const title = cleanTitle((e ?? m)?.[1] ?? '');
      current = { kind: e ? 'enumeration' : 'mask', title, values: new Map() };
      const key = normalizeName(title);
      if (out.has(key)) throw new Error(`KMIP ${spec.version}: ${title} defined twice`);
      out.set(key, current);
      inTable = false;
      continue;
    }
    const c = cells(line);
    if (!c) {
      inTable = false;
      continue;
    }
    if (c.length === 2 && c[0] === 'Name' && c[1] === 'Value') {
      inTable = true;
      continue;
    }
    if (!inTable || !current || c.length !== 2) continue;
    const [title, val] = c as [string, string];
    if (SKIP_TITLE.test(title)) continue;
    const vm = /^([0-9A-Fa-f]{8})(?:\s*\(deprecated\))?$/.exec(val);
    if (!vm) continue;
    const value = Number.parseInt(vm[1] ?? '', 16);
    if (current.values.has(value)) {
      throw new Error(`KMIP ${spec.version}: ${current.title} value ${val} listed twice`);
    }
    current.values.set(value, title);
  }
  return out;
}

/** 2.1 §11.23 Item Type Enumeration; 1.4 §9.1.1.2 Table 286 ("Allowed Item Type Values"). */
function parseItemTypes(spec: SpecText): Map<number, string> {
  const out = new Map<number, string>();
  if (spec.version === '2.1') return out; // read by parseValueTables (§11.23)
  const start = findLine(spec, /^9\.1\.1\.2 Item Type$/);
  const end = findLine(spec, /^Table \d+: Allowed Item Type Values$/, start);
  for (let i = start; i < end; i++) {
    const c = cells(spec.lines[i] ?? '');
    if (!c || c.length !== 2) continue;
    const m = /^([0-9A-F]{2})$/.exec(c[1] ?? '');
    if (m) out.set(Number.parseInt(m[1] ?? '', 16), c[0] ?? '');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Item types per tag, from the encoding tables
// ---------------------------------------------------------------------------------------------

const TYPE_WORD =
  /^(Structure|Long Integer|Big Integer|Integer|Enumeration|Boolean|Text ?[Ss]tring|Byte ?[Ss]tring|Date[- ]?Time Extended|Date[- ]?Time|Interval)\b/;

interface Encoding {
  types: ItemTypeName[];
  varies: boolean;
  hint?: string; // "Enumeration (Tag)" → "Tag"
}

function parseEncoding(cell: string): Encoding | undefined {
  if (/^varies\b/i.test(cell) || cell === '*') return { types: [], varies: true };
  if (!TYPE_WORD.test(cell)) return undefined;
  const types: ItemTypeName[] = [];
  let hint: string | undefined;
  for (const seg of cell.split(';')) {
    for (const part of seg.trim().split(/,|\/| or /)) {
      const p = part.trim();
      const m = TYPE_WORD.exec(p);
      if (!m) break;
      const t = normalizeName(m[1] ?? '') as ItemTypeName;
      if (!(ITEM_TYPE_NAMES as readonly string[]).includes(t)) throw new Error(`unknown item type ${m[1]}`);
      types.push(t);
      const h = /^Enumeration \(([^)]+)\)/.exec(p);
      if (h) hint = normalizeName(h[1] ?? '');
    }
  }
  return hint === undefined ? { types, varies: false } : { types, varies: false, hint };
}

interface TypeEvidence {
  counts: Map<ItemTypeName, number>;
  varies: boolean;
  hints: Set<string>;
}

function collectEncodings(
  specs: readonly SpecText[],
  tagByLowerName: Map<string, string>,
): Map<string, TypeEvidence> {
  const out = new Map<string, TypeEvidence>();
  const lookup = (title: string): string[] => {
    let t = title.replace(/\s*,?\s*\(?see\b.*$/i, '').trim();
    t = t.replace(/\s*\((?:MAY be repeated|may be repeated)\)$/i, '');
    const one = tagByLowerName.get(normalizeName(t).toLowerCase());
    if (one) return [one];
    // "Template-Attribute, Common Template-Attribute, ..." — several tags in one cell
    const parts = t.split(/,\s*/);
    if (parts.length < 2) return [];
    const many = parts.map((p) => tagByLowerName.get(normalizeName(p).toLowerCase()));
    return many.every((x) => x !== undefined) ? (many as string[]) : [];
  };
  for (const spec of specs) {
    const xref: [string, Encoding][] = [];
    // 1.4 Appendix C (Tag Cross-Reference): | Object | Defined | Type | Notes |
    let xrefStart = -1;
    let xrefEnd = -1;
    if (spec.version === '1.4') {
      xrefStart = findLine(spec, /^Appendix C\. Tag Cross-Reference$/);
      xrefEnd = findLine(spec, /^Appendix D\. /, xrefStart);
    }
    const note = (tag: string, enc: Encoding): void => {
      let ev = out.get(tag);
      if (!ev) {
        ev = { counts: new Map(), varies: false, hints: new Set() };
        out.set(tag, ev);
      }
      if (enc.varies) ev.varies = true;
      for (const t of enc.types) ev.counts.set(t, (ev.counts.get(t) ?? 0) + 1);
      if (enc.hint !== undefined) ev.hints.add(enc.hint);
    };
    // Where a cell is empty ("| NIST Key Type |  | Enumeration |", 2.1 Table 97) the encoding
    // is in the next cell.
    const encodingCell = (c: string[], inXref: boolean): string =>
      (inXref ? c[2] : c[1] === '' && c.length > 2 ? c[2] : c[1]) ?? '';
    let heading = '';
    spec.lines.forEach((line, i) => {
      const h = /^\d+(?:\.\d+)+ (.+)$/.exec(line);
      if (h) heading = cleanTitle(h[1] ?? '');
      const c = cells(line);
      if (c && c.length >= 2) {
        const inXref = i > xrefStart && i < xrefEnd;
        const enc = parseEncoding(encodingCell(c, inXref));
        if (!enc) return;
        const tags = lookup(c[0] ?? '');
        if (inXref) {
          // Appendix C is "not normative"; XREF_ERRATA lists the rows that contradict the body.
          for (const tag of tags) if (!XREF_ERRATA.has(tag)) xref.push([tag, enc]);
          return;
        }
        // 2.1 §7.26-7.30 head each PKCS#11 table with "| PKCS#11 Function | Structure |" and then
        // give the field itself ("| PKCS#11 Function | Enumeration |"): the first row is the
        // table's title, not an encoding (PKCS11-M-1-21 sends the Enumeration directly).
        const next = cells(spec.lines[i + 1] ?? '');
        if (enc.types[0] === 'Structure' && enc.types.length === 1 && next && next[0] === c[0]) return;
        for (const tag of tags) note(tag, enc);
        return;
      }
      // A one-row attribute table whose row names another attribute (a copy-paste slip in the
      // spec: 2.1 Table 33 "Always Sensitive Attribute" reads "| Sensitive | Boolean |", Table 45
      // "Comment Attribute" reads "| Description | Text String |"): the caption names the tag.
      const cap = /^Table \d+:? (.+?) Attribute$/.exec(line);
      if (!cap) return;
      const head = cells(spec.lines[i - 2] ?? '');
      const row = cells(spec.lines[i - 1] ?? '');
      const oneRow = head && row && !cells(spec.lines[i - 3] ?? '') && head[1] === 'Encoding' && row.length === 2;
      if (!oneRow) return;
      const enc = parseEncoding(row[1] ?? '');
      // Only where the caption names the section the table is in (2.1 Table 141 "Unique
      // Identifier Attribute" sits in §4.56 Short Unique Identifier and is right as it stands).
      if (cleanTitle(cap[1] ?? '') !== heading) return;
      const [tag] = lookup(cap[1] ?? '');
      if (enc && tag !== undefined) note(tag, enc);
    });
    for (const [tag, enc] of xref) note(tag, enc);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Registry model
// ---------------------------------------------------------------------------------------------

export interface RegistryValue {
  name: string;
  title: string;
  value: string;
  aliases?: string[];
  versions: Version[];
}
export interface RegistryValueSet {
  name: string;
  title: string;
  tags: string[];
  values: RegistryValue[];
}
export interface RegistryTag {
  name: string;
  title: string;
  value: string;
  types: ItemTypeName[];
  enumeration?: string;
  mask?: string;
  aliases?: string[];
  versions: Version[];
}
export interface RegistryData {
  $comment: string;
  versions: Version[];
  itemTypes: { name: ItemTypeName; value: string }[];
  tags: RegistryTag[];
  enumerations: RegistryValueSet[];
  masks: RegistryValueSet[];
}

const hex = (n: number, digits: number): string => '0x' + n.toString(16).toUpperCase().padStart(digits, '0');

function versionsFrom(since: Version, in14: boolean, in20: boolean, in21: boolean, what: string): Version[] {
  const si = VERSIONS.indexOf(since);
  const out: Version[] = [];
  for (const v of VERSIONS) {
    if (VERSIONS.indexOf(v) < si) continue;
    const present = v === '2.1' ? in21 : v === '2.0' ? in20 : in14;
    if (present) out.push(v);
  }
  if (in14 && !V1.includes(since)) throw new Error(`${what}: in the 1.4 text but dated ${since}`);
  if (out.length === 0) throw new Error(`${what}: no version (since ${since})`);
  return out;
}

function sinceOf(facts: EnumFacts | undefined, value: number, in14: boolean, what: string): Version {
  if (!facts) throw new Error(`${what}: no entry in ENUM_FACTS`);
  for (const [lo, hi, v] of facts.ranges ?? []) if (value >= lo && value <= hi) return v;
  if (in14) return facts.since;
  // Only in the 2.x text: 2.0 unless the whole enumeration is newer.
  return V1.includes(facts.since) ? '2.0' : facts.since;
}

function buildValueSet(
  kind: 'enumeration' | 'mask',
  name: string,
  v14: Map<number, string> | undefined,
  v21: Map<number, string> | undefined,
  extra20: Map<number, string>,
  nameOf: (title: string) => string,
): RegistryValue[] {
  const facts = ENUM_FACTS[name];
  const all = new Set<number>([...(v14?.keys() ?? []), ...(v21?.keys() ?? []), ...extra20.keys()]);
  const values: RegistryValue[] = [];
  for (const value of [...all].sort((a, b) => a - b)) {
    const t14 = v14?.get(value);
    const t21 = v21?.get(value);
    const t20 = extra20.get(value);
    const in14 = t14 !== undefined;
    const in21 = t21 !== undefined;
    const in20 = in21 || t20 !== undefined;
    const what = `${kind} ${name} ${hex(value, 8)}`;
    const since = sinceOf(facts, value, in14, what);
    const versions = versionsFrom(since, in14, in20, in21, what);
    const fix = (t: string): string => VALUE_TITLE_FIXES[`${name}:${t}`] ?? t;
    const specTitle = fix(t21 ?? t20 ?? t14 ?? '');
    const primary = nameOf(specTitle);
    const entry: RegistryValue = { name: primary, title: specTitle, value: hex(value, 8), versions };
    // Other spellings: the 1.4 name where 2.x renamed the value, and the spec text's own
    // spelling where VALUE_TITLE_FIXES or VALUE_NAME_EXCEPTIONS override it.
    const aliases = new Set<string>();
    for (const t of [t14, t20, t21]) {
      if (t === undefined) continue;
      const overridden = fix(t) !== t || VALUE_NAME_EXCEPTIONS[`${name}:${t}`] !== undefined;
      for (const n of [nameOf(fix(t)), ...(overridden ? [normalizeName(t)] : [])]) {
        if (n !== primary) aliases.add(n);
      }
    }
    if (aliases.size > 0) entry.aliases = [...aliases].sort();
    values.push(entry);
  }
  const seen = new Map<string, string>();
  for (const v of values) {
    for (const n of [v.name, ...(v.aliases ?? [])]) {
      const prev = seen.get(n);
      if (prev !== undefined && prev !== v.value) {
        throw new Error(`${kind} ${name}: name ${n} used for ${prev} and ${v.value}`);
      }
      seen.set(n, v.value);
    }
  }
  return values;
}

function buildItemTypes(s14: SpecText, sets21: Map<string, RawValueSet>): RegistryData['itemTypes'] {
  const it14 = parseItemTypes(s14);
  const it21 = sets21.get('ItemType')?.values;
  if (!it21 || it21.size !== 11) throw new Error('KMIP 2.1 §11.23 Item Type: expected 11 values');
  return [...it21.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([value, title]) => {
      const name = normalizeName(title) as ItemTypeName;
      if (ITEM_TYPE_NAMES[value - 1] !== name) throw new Error(`item type ${title} = ${value}?`);
      if (value <= 0x0a && normalizeName(it14.get(value) ?? '') !== name) {
        throw new Error(`1.4 item type ${value} is ${it14.get(value)}`);
      }
      return { name, value: hex(value, 2) };
    });
}

interface TagDraft {
  value: number;
  name: string;
  title: string;
  aliases: string[];
  versions: Version[];
}

/** Every tag of either tag table: the 2.1 name, else the 1.4 name of a tag 2.x reserved. */
function buildTagDrafts(s14: SpecText, s21: SpecText): TagDraft[] {
  const tags14 = parseTagTable(s14);
  const tags21 = parseTagTable(s21);
  const values = [...new Set([...tags14.keys(), ...tags21.keys()])].sort((a, b) => a - b);
  const drafts = values.map((value): TagDraft => {
    const t14 = tags14.get(value);
    const t21 = tags21.get(value);
    const range = TAG_SINCE.find(([lo, hi]) => value >= lo && value <= hi);
    if (!range) throw new Error(`tag ${hex(value, 6)} outside TAG_SINCE`);
    const title = (t21 ?? t14)?.title ?? '';
    const name = normalizeName(title);
    const in21 = t21 !== undefined;
    const versions = versionsFrom(range[2], t14 !== undefined, in21, in21, `tag ${hex(value, 6)} ${title}`);
    const aliases = t14 && t21 && normalizeName(t14.title) !== name ? [normalizeName(t14.title)] : [];
    return { value, name, title, aliases, versions };
  });
  const seen = new Map<string, string>();
  for (const d of drafts) {
    for (const n of [d.name, ...d.aliases]) {
      const prev = seen.get(n.toLowerCase());
      if (prev !== undefined && prev !== d.name) throw new Error(`tag name ${n} used twice`);
      seen.set(n.toLowerCase(), d.name);
    }
  }
  return drafts;
}

/** Enumerations and masks of both texts, the supplements, and Tag (§11.56) as an enumeration. */
function buildValueSets(
  sets14: Map<string, RawValueSet>,
  sets21: Map<string, RawValueSet>,
  drafts: readonly TagDraft[],
): { enumerations: RegistryValueSet[]; masks: RegistryValueSet[] } {
  const supplements = new Map<string, Map<number, string>>([
    ['PKCS_11Function', new Map(PKCS11_FUNCTIONS.map((f, i) => [i + 1, f]))],
    ['PKCS_11ReturnCode', new Map(PKCS11_RETURN_CODES.map(([n, v]) => [v, n]))],
  ]);
  const extra20 = new Map<string, Map<number, string>>();
  for (const x of ONLY_IN_2_0) extra20.set(x.set, (extra20.get(x.set) ?? new Map()).set(x.value, x.title));

  const enumerations: RegistryValueSet[] = [];
  const masks: RegistryValueSet[] = [];
  // §11.56 Tag Enumeration is the tag table itself, added from the tags below.
  const names = [...new Set([...sets14.keys(), ...sets21.keys()])].filter((n) => n !== 'Tag').sort();
  for (const name of names) {
    const r = sets21.get(name) ?? sets14.get(name);
    if (!r) continue;
    let v21 = sets21.get(name)?.values;
    const sup = supplements.get(name);
    if (sup) {
      if (v21 && v21.size > 0) throw new Error(`${name}: the spec now lists values; drop the supplement`);
      v21 = sup;
    }
    const nameOf = (t: string): string =>
      VALUE_NAME_EXCEPTIONS[`${name}:${t}`] ??
      (name === 'PKCS_11ReturnCode' ? t.replace(/^CKR_/, '') : normalizeName(t));
    const v14 = sets14.get(name)?.values;
    const values = buildValueSet(r.kind, name, v14, v21, extra20.get(name) ?? new Map(), nameOf);
    (r.kind === 'mask' ? masks : enumerations).push({ name, title: r.title, tags: [], values });
  }
  for (const x of extra20.keys()) {
    if (!enumerations.some((e) => e.name === x)) throw new Error(`ONLY_IN_2_0: no enumeration ${x}`);
  }
  // Attribute Reference ("Enumeration (Tag)") carries a tag number as an enumeration value.
  enumerations.push({
    name: 'Tag',
    title: 'Tag',
    tags: [],
    values: drafts.map((d) => {
      const v: RegistryValue = { name: d.name, title: d.title, value: hex(d.value, 8), versions: d.versions };
      if (d.aliases.length > 0) v.aliases = [...d.aliases];
      return v;
    }),
  });
  enumerations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { enumerations, masks };
}

/** A tag's item types from the encoding-table evidence: most common first, [] where it varies. */
function typesOf(d: TagDraft, ev: TypeEvidence | undefined): { types: ItemTypeName[]; enumeration?: string } {
  const exc = TAG_TYPE_EXCEPTIONS[d.name];
  if (exc) {
    if (ev) throw new Error(`TAG_TYPE_EXCEPTIONS.${d.name}: the spec now encodes it; drop the exception`);
    return { ...exc, types: [...exc.types] };
  }
  if (!ev) return { types: [] };
  if (ev.varies) return { types: [] }; // "Varies" (Attribute Value, Credential Value, Custom Attribute)
  const rank = (t: ItemTypeName): number => ITEM_TYPE_NAMES.indexOf(t);
  const types = [...ev.counts.entries()]
    .sort((a, b) => b[1] - a[1] || rank(a[0]) - rank(b[0]))
    .map(([t]) => t);
  const hints = [...ev.hints];
  if (hints.length > 1) throw new Error(`tag ${d.name}: several enumeration hints ${hints.join(', ')}`);
  return hints[0] === undefined ? { types } : { types, enumeration: hints[0] };
}

export function buildRegistry(specDir: string): RegistryData {
  const read = (version: '1.4' | '2.1'): SpecText => ({
    version,
    lines: readFileSync(path.join(specDir, `kmip-spec-v${version}-os.txt`), 'utf8').split(/\r?\n/),
  });
  const s14 = read('1.4');
  const s21 = read('2.1');
  const sets14 = parseValueTables(s14);
  const sets21 = parseValueTables(s21);
  const itemTypes = buildItemTypes(s14, sets21);
  const drafts = buildTagDrafts(s14, s21);
  const { enumerations, masks } = buildValueSets(sets14, sets21, drafts);
  const enumByName = new Map(enumerations.map((e) => [e.name, e]));
  const maskByName = new Map(masks.map((m) => [m.name, m]));

  const lowerNames = new Map(
    drafts.flatMap((d) => [d.name, ...d.aliases].map((n) => [n.toLowerCase(), d.name] as const)),
  );
  const evidence = collectEncodings([s14, s21], lowerNames);
  const missing = drafts
    .filter((d) => !evidence.has(d.name) && !TAG_TYPE_EXCEPTIONS[d.name])
    .map((d) => d.name);
  if (missing.length > 0) throw new Error(`no encoding table gives the item type of: ${missing.join(', ')}`);

  const tags = drafts.map((d): RegistryTag => {
    const found = typesOf(d, evidence.get(d.name));
    const { name, title, versions } = d;
    const tag: RegistryTag = { name, title, value: hex(d.value, 6), types: found.types, versions };
    if (found.types.includes('Enumeration')) {
      const e = enumByName.get(found.enumeration ?? TAG_ENUMERATION_EXCEPTIONS[d.name] ?? d.name);
      if (!e) throw new Error(`tag ${d.name} is an Enumeration of unknown values`);
      tag.enumeration = e.name;
      e.tags.push(d.name);
    }
    const mask = maskByName.get(d.name);
    if (mask) {
      if (!found.types.includes('Integer')) throw new Error(`mask tag ${d.name} is not an Integer`);
      tag.mask = mask.name;
      mask.tags.push(d.name);
    }
    if (d.aliases.length > 0) tag.aliases = [...d.aliases];
    return tag;
  });
  for (const e of [...enumerations, ...masks]) e.tags.sort();
  const unused = [...enumerations, ...masks].filter((e) => e.tags.length === 0).map((e) => e.name);
  if (unused.length > 0) throw new Error(`enumerations no tag uses: ${unused.join(', ')}`);

  return {
    $comment:
      'Generated by scripts/gen-registry.ts from the OASIS KMIP 1.4 and 2.1 specification text; do not edit.',
    versions: [...VERSIONS],
    itemTypes,
    tags,
    enumerations,
    masks,
  };
}

// ---------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------

/** Fixed key order for tag and value entries (aliases, when present, before versions). */
const KEY_ORDER = ['name', 'title', 'value', 'types', 'enumeration', 'mask', 'aliases', 'versions'];
const ordered = (o: object): Record<string, unknown> => {
  const rec = o as Record<string, unknown>;
  const extra = Object.keys(rec).filter((k) => !KEY_ORDER.includes(k));
  if (extra.length > 0) throw new Error(`unexpected keys ${extra.join(', ')}`);
  return Object.fromEntries(KEY_ORDER.filter((k) => rec[k] !== undefined).map((k) => [k, rec[k]]));
};

function renderJson(r: RegistryData): string {
  const j = (x: unknown): string => JSON.stringify(x);
  const list = (items: string[], indent: string): string =>
    items.length === 0 ? '[]' : '[\n' + items.map((s) => indent + s).join(',\n') + '\n' + indent.slice(2) + ']';
  const set = (s: RegistryValueSet): string =>
    `{"name":${j(s.name)},"title":${j(s.title)},"tags":${j(s.tags)},"values":` +
    list(
      s.values.map((v) => j(ordered(v))),
      '      ',
    ) +
    '}';
  return (
    '{\n' +
    `  "$comment": ${j(r.$comment)},\n` +
    `  "versions": ${j(r.versions)},\n` +
    `  "itemTypes": ${list(r.itemTypes.map(j), '    ')},\n` +
    `  "tags": ${list(
      r.tags.map((t) => j(ordered(t))),
      '    ',
    )},\n` +
    `  "enumerations": ${list(r.enumerations.map(set), '    ')},\n` +
    `  "masks": ${list(r.masks.map(set), '    ')}\n` +
    '}\n'
  );
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string): string => (IDENT.test(k) ? k : JSON.stringify(k));

function renderTs(r: RegistryData): string {
  const out: string[] = [];
  const push = (s = ''): number => out.push(s);
  push('// Generated by scripts/gen-registry.ts from the KMIP specifications; do not edit.');
  push('// Source: OASIS KMIP Specification 1.4 and 2.1 (text in ../shared/kmip-spec); the same data');
  push('// with item types and per-version presence is schemas/kmip-registry.json.');
  push();
  // Item types themselves are the codec's (src/ttlv/types.ts); they are not repeated here.
  push("import type { ItemTypeName } from '../ttlv/types.js';");
  push();
  push(`export const Versions = [${r.versions.map((v) => `'${v}'`).join(', ')}] as const;`);
  push('export type KmipVersion = (typeof Versions)[number];');
  push();
  push('/** Tag numbers by XML/JSON name (KMIP 1.4 §9.1.3.1, 2.1 §11.56), 1.x-only tags included. */');
  push('export const Tag = {');
  for (const t of r.tags) push(`  ${key(t.name)}: ${t.value},`);
  push('} as const;');
  push('export type TagName = keyof typeof Tag;');
  push();
  push('/** Earlier (KMIP 1.x) names of tags that 2.x renamed. */');
  push('export const TagAlias: Readonly<Record<string, TagName>> = {');
  for (const t of r.tags) for (const a of t.aliases ?? []) push(`  ${key(a)}: '${t.name}',`);
  push('};');
  push();
  push('/** Enumeration values by name; Enum.Tag is the tag table (Attribute Reference values). */');
  push('export const Enum = {');
  for (const e of r.enumerations) {
    if (e.name === 'Tag') {
      push('  Tag,');
      continue;
    }
    push(`  ${key(e.name)}: {`);
    for (const v of e.values) push(`    ${key(v.name)}: ${v.value},`);
    push('  },');
  }
  push('} as const;');
  push('export type EnumName = keyof typeof Enum;');
  push();
  push('/** Bit mask values by name (KMIP 1.4 §9.1.3.3, 2.1 §12). */');
  push('export const Mask = {');
  for (const m of r.masks) {
    push(`  ${key(m.name)}: {`);
    for (const v of m.values) push(`    ${key(v.name)}: ${v.value},`);
    push('  },');
  }
  push('} as const;');
  push('export type MaskName = keyof typeof Mask;');
  push();
  push('/** Item types each tag may carry, most common first; [] where the type varies. */');
  push('export const TagTypes: { readonly [K in TagName]: readonly ItemTypeName[] } = {');
  for (const t of r.tags) push(`  ${key(t.name)}: [${t.types.map((x) => `'${x}'`).join(', ')}],`);
  push('};');
  push();
  push('/** The enumeration whose values a tag carries. */');
  push('export const TagEnumeration: { readonly [K in TagName]?: EnumName } = {');
  for (const t of r.tags) if (t.enumeration !== undefined) push(`  ${key(t.name)}: '${t.enumeration}',`);
  push('};');
  push();
  push('/** The bit mask whose names a tag writes its Integer value with. */');
  push('export const TagMask: { readonly [K in TagName]?: MaskName } = {');
  for (const t of r.tags) if (t.mask !== undefined) push(`  ${key(t.name)}: '${t.mask}',`);
  push('};');
  push();
  push('/** The KMIP versions each tag exists in. */');
  push('export const TagVersions: { readonly [K in TagName]: readonly KmipVersion[] } = {');
  for (const t of r.tags) push(`  ${key(t.name)}: [${t.versions.map((v) => `'${v}'`).join(', ')}],`);
  push('};');
  return out.join('\n') + '\n';
}

/** The generator's core: both output files' text, from the spec texts in specDir. */
export function generateRegistry(specDir: string): { json: string; ts: string } {
  const r = buildRegistry(specDir);
  return { json: renderJson(r), ts: renderTs(r) };
}

// ---------------------------------------------------------------------------------------------
// Paths and CLI
// ---------------------------------------------------------------------------------------------

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const JSON_PATH = path.join(REPO_ROOT, 'schemas', 'kmip-registry.json');
export const TS_PATH = path.join(REPO_ROOT, 'src', 'kmip', 'registry.generated.ts');

/** The shared folder: $KMIP_SHARED_DIR, else `<repo>/../shared`. */
export function sharedDir(): string {
  const env = process.env['KMIP_SHARED_DIR'];
  return env !== undefined && env !== '' ? path.resolve(env) : path.resolve(REPO_ROOT, '..', 'shared');
}

export function specDir(): string {
  return path.join(sharedDir(), 'kmip-spec');
}

function diffSummary(file: string, want: string, have: string | undefined): string {
  if (have === undefined) return `${file}: missing`;
  const a = have.split('\n');
  const b = want.split('\n');
  let first = -1;
  let changed = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      changed++;
      if (first < 0) first = i;
    }
  }
  return (
    `${file}: ${changed} line(s) differ (committed ${a.length} lines, generated ${b.length}), ` +
    `first at line ${first + 1}\n` +
    `  committed: ${a[first] ?? '<end of file>'}\n` +
    `  generated: ${b[first] ?? '<end of file>'}`
  );
}

/** Regenerates in memory; one summary per output file that differs from the committed one. */
export function checkDrift(dir = specDir()): string[] {
  const { json, ts } = generateRegistry(dir);
  const problems: string[] = [];
  for (const [file, text] of [
    [JSON_PATH, json],
    [TS_PATH, ts],
  ] as const) {
    let have: string | undefined;
    try {
      have = readFileSync(file, 'utf8');
    } catch {
      have = undefined;
    }
    if (have !== text) problems.push(diffSummary(path.relative(REPO_ROOT, file), text, have));
  }
  return problems;
}

function main(argv: readonly string[]): number {
  if (argv.includes('--check')) {
    const problems = checkDrift();
    if (problems.length > 0) {
      console.error('KMIP registry drift; run `npx tsx scripts/gen-registry.ts`:\n' + problems.join('\n'));
      return 1;
    }
    console.log('KMIP registry is up to date.');
    return 0;
  }
  const { json, ts } = generateRegistry(specDir());
  for (const [file, text] of [
    [JSON_PATH, json],
    [TS_PATH, ts],
  ] as const) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
