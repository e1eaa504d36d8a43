/**
 * Register (KMIP 2.1 §6.1.43; 1.4 §4.3): an object the client brings, of any type (KMIP 2.1 §2):
 * Symmetric Key, Public Key, Private Key, Split Key, Secret Data, PGP Key (key blocks; a block
 * wrapped under one of the caller's keys is unwrapped first, see wrapping.ts), Certificate, Certificate Request (2.x only), Opaque
 * Object, and Template (1.x only). Its value is checked enough to refuse garbage with Invalid Field
 * (keys and X.509 certificates must parse), held in the format it came in, and sealed before the
 * store sees it. The server derives what the value tells: Cryptographic Algorithm and Length of keys
 * and certificates, the Digest, and for an X.509 certificate its Certificate Type and Length, X.509
 * Certificate Identifier / Subject / Issuer, its Certificate Attributes (Subject and Issuer CN, O…)
 * and Digital Signature Algorithm (2.1 §4.6–4.8, §4.22, §4.61–4.63). A derived value the client also gave must agree with it.
 */
import { X509Certificate, randomUUID } from 'node:crypto';
import { type Item, item, structure } from '../ttlv/index.js';
import { nameAttributes } from '../crypto/x509-names.js';
import { KmipError } from '../kmip/errors.js';
import { Fields, name } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { type DigestSource, checkCreationAttributes, initialAttributes } from '../objects/attribute-rules.js';
import { find, refOf, sameItem, sameRef } from '../objects/items.js';
import { children, describeKey, formatTitle, isEcAlgorithm, keyFromBlock, readTlv, symmetricBytes } from '../objects/key-formats.js';
import { fromV1Attributes } from '../objects/v1-attributes.js';
import type { ManagedObjectRecord, ObjectTypeName } from '../objects/types.js';
import {
  MANAGED_OBJECT_TYPES,
  OBJECT_TAGS,
  checkNamesUnique,
  creationAttributes,
  firstUid,
  objectTypeExistsIn,
  objectTypeOf,
  protectionStorageMask,
  reason,
  sealObject,
  uidItem,
} from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';
import { unwrapIfWrapped } from './wrapping.js';

const F = Enum.KeyFormatType;

/** What the value of a registered object tells the server. */
interface Inspection {
  readonly digestOf: readonly DigestSource[];
  /** For key blocks: the format the key is held in. */
  readonly keyFormatType?: number;
  /** Attributes derived from the value; a client that gives one must give the same. */
  readonly derived: readonly Item[];
}

const NONE: Inspection = { digestOf: [], derived: [] };

export const register: OperationDefinition = {
  name: 'Register',
  mutates: true,
  permission: 'write',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    const tag = OBJECT_TAGS[objectType];
    if (tag === undefined || !MANAGED_OBJECT_TYPES.includes(objectType) || !objectTypeExistsIn(objectType, ctx)) {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `there is no ${objectType} object in KMIP ${ctx.version.major}.${ctx.version.minor}`);
    }
    const value = await unwrapIfWrapped(payload.required(tag), ctx); // Key Wrapping Data: unwrapped before anything reads or seals it
    if (value.type !== 'Structure') throw new KmipError('InvalidMessage', `${objectType} must be a Structure`);
    const inspection = inspect(objectType, new Fields(value));

    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes(objectType, requested, 'register', { version: ctx.version });
    const derived = agree(requested, inspection.derived, ctx);
    if (['SymmetricKey', 'PublicKey', 'PrivateKey'].includes(objectType) && find([...requested, ...derived], Tag.CryptographicAlgorithm) === undefined) {
      throw new KmipError('InvalidField', `a ${objectType} needs a Cryptographic Algorithm (in its key block or its attributes)`);
    }

    const uid = randomUUID();
    const sealedValue = await sealObject(ctx, uid, value);
    const { state, attributes } = initialAttributes({
      objectType,
      uid,
      now: ctx.clock.now(),
      origin: 'registered',
      requested,
      digestOf: inspection.digestOf,
      ...(inspection.keyFormatType === undefined ? {} : { keyFormatType: inspection.keyFormatType }),
      protectionStorageMask: protectionStorageMask(ctx),
    });
    const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType, state, owner: ctx.identity.name, attributes: [...attributes, ...derived], sealedValue };
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, requested, ctx);
      await tx.insert(record, { uidGenerated: true });
    });
    return [uidItem(uid)];
  },
};

/** The derived attributes the client did not give; a given one that differs is refused. */
function agree(requested: readonly Item[], derived: readonly Item[], ctx: OperationContext): Item[] {
  const out: Item[] = [];
  for (const d of derived) {
    const given = requested.find((a) => sameRef(refOf(a), refOf(d)));
    if (given === undefined) out.push(d);
    else if (!sameItem(given, d)) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `the ${name(d.tag)} given does not match the registered object's value`);
    }
  }
  return out;
}

function inspect(objectType: ObjectTypeName, object: Fields): Inspection {
  switch (objectType) {
    case 'Certificate':
      return inspectCertificate(object);
    case 'CertificateRequest':
      return inspectCertificateRequest(object);
    case 'OpaqueObject': {
      const type = object.need(Tag.OpaqueDataType, 'Enumeration');
      const data = object.required(Tag.OpaqueDataValue);
      if (data.type !== 'ByteString') throw new KmipError('InvalidField', 'the Opaque Data Value is a Byte String');
      return { digestOf: [{ value: data }], derived: [item(Tag.OpaqueDataType, 'Enumeration', type)] };
    }
    case 'Template':
      // 1.4 §2.2.6: a Template is a list of 1.x Attributes; an unknown Attribute Name is Invalid Field.
      fromV1Attributes(object.all(Tag.Attribute));
      if (object.item.value.some((c) => c.tag !== Tag.Attribute)) throw new KmipError('InvalidField', 'a Template holds Attributes only');
      return NONE;
    case 'SplitKey':
      checkSplitKey(object);
      return inspectKeyBlock(objectType, object.needStruct(Tag.KeyBlock));
    case 'PGPKey': {
      const version = object.need(Tag.PGPKeyVersion, 'Integer');
      if (version !== 3 && version !== 4) throw new KmipError('InvalidField', `PGP keys are version 3 or 4, not ${version} (KMIP 2.1 §2.4)`);
      return inspectKeyBlock(objectType, object.needStruct(Tag.KeyBlock));
    }
    case 'SecretData':
      object.need(Tag.SecretDataType, 'Enumeration');
      return inspectKeyBlock(objectType, object.needStruct(Tag.KeyBlock));
    default:
      return inspectKeyBlock(objectType, object.needStruct(Tag.KeyBlock));
  }
}

/** 2.1 §2.8: 1 ≤ Key Part Identifier ≤ Split Key Parts, the threshold at most the parts, a Prime Field Size for prime-field sharing. */
function checkSplitKey(object: Fields): void {
  const parts = object.need(Tag.SplitKeyParts, 'Integer');
  const part = object.need(Tag.KeyPartIdentifier, 'Integer');
  const threshold = object.need(Tag.SplitKeyThreshold, 'Integer');
  const method = object.need(Tag.SplitKeyMethod, 'Enumeration');
  if (parts < 1 || part < 1 || part > parts) throw new KmipError('InvalidField', 'the Key Part Identifier is at least 1 and at most the Split Key Parts (KMIP 2.1 §2.8)');
  if (threshold < 1 || threshold > parts) throw new KmipError('InvalidField', 'the Split Key Threshold is between 1 and the Split Key Parts (KMIP 2.1 §2.8)');
  if (method === Enum.SplitKeyMethod.PolynomialSharingPrimeField && !object.has(Tag.PrimeFieldSize)) {
    throw new KmipError('InvalidField', 'a Split Key shared over a prime field needs its Prime Field Size (KMIP 2.1 §2.8)');
  }
}

const BYTE_FORMATS: readonly number[] = [F.Raw, F.Opaque];
const SYMMETRIC_FORMATS: readonly number[] = [F.Raw, F.Opaque, F.TransparentSymmetricKey];
const AES_BYTES: readonly number[] = [16, 24, 32];

function inspectKeyBlock(objectType: ObjectTypeName, block: Fields): Inspection {
  const format = block.need(Tag.KeyFormatType, 'Enumeration');
  const keyValue = block.needStruct(Tag.KeyValue);
  const material = keyValue.required(Tag.KeyMaterial);
  const algorithm = block.optional(Tag.CryptographicAlgorithm);
  const length = block.optional(Tag.CryptographicLength);
  const fromBlock = [algorithm, length].filter((x): x is Item => x !== undefined);
  const digestOf = [{ value: material, keyFormatType: format }];

  if (objectType === 'PublicKey' || objectType === 'PrivateKey') {
    const key = keyFromBlock(objectType, block);
    const actual = describeKey(key);
    if (algorithm !== undefined) {
      const same = algorithm.type === 'Enumeration' && (algorithm.value === actual.algorithm || (isEcAlgorithm(algorithm.value) && isEcAlgorithm(actual.algorithm)));
      if (!same) throw new KmipError('InvalidField', `the key block's Cryptographic Algorithm does not match its ${formatTitle(format)} key`);
    }
    if (length !== undefined && (length.type !== 'Integer' || length.value !== actual.length)) {
      throw new KmipError('InvalidField', `the key is ${actual.length} bits long, not what its key block says`);
    }
    return {
      digestOf,
      keyFormatType: format,
      derived: [algorithm ?? item(Tag.CryptographicAlgorithm, 'Enumeration', actual.algorithm), length ?? item(Tag.CryptographicLength, 'Integer', actual.length)],
    };
  }

  const formats = objectType === 'SymmetricKey' ? SYMMETRIC_FORMATS : BYTE_FORMATS;
  if (!formats.includes(format)) throw new KmipError('KeyFormatTypeNotSupported', `kmipd registers a ${objectType} as ${formats.map(formatTitle).join(', ')}`);
  const bytes = objectType === 'SymmetricKey' ? symmetricBytes(block, format) : material.type === 'ByteString' ? material.value : undefined;
  if (bytes === undefined && format !== F.Opaque) throw new KmipError('InvalidField', `the Key Material of a ${formatTitle(format)} key block is not what that format holds`);
  if (material.type !== 'ByteString' && format !== F.TransparentSymmetricKey) throw new KmipError('InvalidField', 'the Key Material of a Raw or Opaque key block is a Byte String');
  if (objectType === 'SymmetricKey' && bytes !== undefined && algorithm?.type === 'Enumeration' && algorithm.value === Enum.CryptographicAlgorithm.AES && !AES_BYTES.includes(bytes.length)) {
    throw new KmipError('InvalidField', `an AES key is 16, 24 or 32 bytes, not ${bytes.length}`);
  }
  const derived = [...fromBlock];
  // Cryptographic Length does not apply to Opaque Objects only (2.1 §4.15); for byte keys it is their bit length.
  if (length === undefined && bytes !== undefined && objectType !== 'PGPKey') derived.push(item(Tag.CryptographicLength, 'Integer', bytes.length * 8));
  return { digestOf: format === F.TransparentSymmetricKey ? [{ value: item(Tag.KeyMaterial, 'ByteString', bytes!), keyFormatType: F.Raw }] : digestOf, keyFormatType: format, derived };
}

// ——— certificates ———

/** Signature algorithm OIDs (DER content, hex) → Digital Signature Algorithm (2.1 §11.16). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, number>> = {
  '2a864886f70d010105': Enum.DigitalSignatureAlgorithm.SHA_1WithRSAEncryption,
  '2a864886f70d01010e': Enum.DigitalSignatureAlgorithm.SHA_224WithRSAEncryption,
  '2a864886f70d01010b': Enum.DigitalSignatureAlgorithm.SHA_256WithRSAEncryption,
  '2a864886f70d01010c': Enum.DigitalSignatureAlgorithm.SHA_384WithRSAEncryption,
  '2a864886f70d01010d': Enum.DigitalSignatureAlgorithm.SHA_512WithRSAEncryption,
  '2a864886f70d01010a': Enum.DigitalSignatureAlgorithm.RSASSA_PSS,
  '2a8648ce3d0401': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA_1,
  '2a8648ce3d040301': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA224,
  '2a8648ce3d040302': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256,
  '2a8648ce3d040303': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA384,
  '2a8648ce3d040304': Enum.DigitalSignatureAlgorithm.ECDSAWithSHA512,
};

function inspectCertificate(object: Fields): Inspection {
  const typeItem = object.optional(Tag.CertificateType);
  const valueItem = object.optional(Tag.CertificateValue);
  // 2.1 §2.1: both are required.
  if (typeItem?.type !== 'Enumeration') throw new KmipError('InvalidField', 'a Certificate needs a Certificate Type (KMIP 2.1 §2.1)');
  if (valueItem?.type !== 'ByteString') throw new KmipError('InvalidField', 'a Certificate needs a Certificate Value Byte String (KMIP 2.1 §2.1)');
  const type = typeItem.value;
  const der = Buffer.from(valueItem.value);
  const common = [item(Tag.CertificateType, 'Enumeration', type), item(Tag.CertificateLength, 'Integer', der.length)];
  if (type === Enum.CertificateType.PGP) {
    if (der.length === 0) throw new KmipError('InvalidField', 'the Certificate Value is empty');
    return { digestOf: [{ value: valueItem }], derived: common };
  }
  if (type !== Enum.CertificateType.X_509) throw new KmipError('InvalidField', 'the Certificate Type is X.509 or PGP');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new KmipError('InvalidField', 'the Certificate Value is not a DER X.509 certificate');
  }
  return { digestOf: [{ value: valueItem }], derived: [...common, ...x509Attributes(der, cert)] };
}

/**
 * 2.1 §4.61–4.63 and §4.22 from the certificate's DER: Certificate ::= SEQUENCE { tbsCertificate
 * SEQUENCE { [0] version?, serialNumber, signature, issuer, validity, subject, … }, signatureAlgorithm, … }.
 */
export function x509Attributes(der: Buffer, cert: X509Certificate): Item[] {
  const [tbs, sigAlg] = children(der, readTlv(der, 0));
  const fields = children(der, tbs!);
  const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [serial, , issuer, , subject] = rest;
  if (serial === undefined || issuer === undefined || subject === undefined || sigAlg === undefined) throw new KmipError('InvalidField', 'the X.509 certificate is missing fields');
  const whole = (t: { at: number; end: number }): Buffer => der.subarray(t.at, t.end);
  const out: Item[] = [
    structure(Tag.X_509CertificateIdentifier, [item(Tag.IssuerDistinguishedName, 'ByteString', whole(issuer)), item(Tag.CertificateSerialNumber, 'ByteString', der.subarray(serial.start, serial.end))]),
    structure(Tag.X_509CertificateSubject, [item(Tag.SubjectDistinguishedName, 'ByteString', whole(subject))]),
    structure(Tag.X_509CertificateIssuer, [item(Tag.IssuerDistinguishedName, 'ByteString', whole(issuer))]),
    // 2.1 §4.6 Certificate Attributes, server-set from the certificate's names.
    ...nameAttributes(der, subject, 'Subject'),
    ...nameAttributes(der, issuer, 'Issuer'),
  ];
  const oid = children(der, sigAlg)[0];
  const dsa = oid === undefined ? undefined : SIGNATURE_ALGORITHMS[der.subarray(oid.start, oid.end).toString('hex')];
  if (dsa !== undefined) out.push(item(Tag.DigitalSignatureAlgorithm, 'Enumeration', dsa));
  try {
    const key = describeKey(cert.publicKey);
    out.push(item(Tag.CryptographicAlgorithm, 'Enumeration', key.algorithm), item(Tag.CryptographicLength, 'Integer', key.length));
  } catch {
    // A certificate for a key kmipd does not model (X25519, a curve other than P-256/384/521…) is still registered, without them.
  }
  return out;
}

function inspectCertificateRequest(object: Fields): Inspection {
  const type = object.need(Tag.CertificateRequestType, 'Enumeration');
  const valueItem = object.required(Tag.CertificateRequestValue);
  if (valueItem.type !== 'ByteString' || valueItem.value.length === 0) throw new KmipError('InvalidField', 'the Certificate Request Value is a non-empty Byte String');
  const bytes = Buffer.from(valueItem.value);
  if (type === Enum.CertificateRequestType.PKCS_10 || type === Enum.CertificateRequestType.CRMF) {
    // A DER SEQUENCE that spans the whole value: enough to refuse what is not a request at all.
    let ok = false;
    try {
      const top = readTlv(bytes, 0);
      ok = top.tag === 0x30 && top.end === bytes.length;
    } catch {
      ok = false;
    }
    if (!ok) throw new KmipError('InvalidField', 'the Certificate Request Value is not DER');
  } else if (type === Enum.CertificateRequestType.PEM && !bytes.toString('latin1').startsWith('-----BEGIN')) {
    throw new KmipError('InvalidField', 'the Certificate Request Value is not PEM');
  }
  return { digestOf: [{ value: valueItem }], derived: [] };
}
