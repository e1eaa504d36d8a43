/**
 * Encrypt (KMIP 2.1 §6.1.17; 1.4 §4.29), and the request flow it shares with Decrypt (decrypt.ts):
 * the caller's key, checked for the operation (crypto-key.ts: owner, object type, lifecycle state
 * and dates, Cryptographic Usage Mask), the Cryptographic Parameters of the request or else of the
 * key (src/crypto/cipher.ts), one-shot or streamed with Init Indicator / Correlation Value / Final
 * Indicator (src/crypto/cipher-streams.ts). An HSM-resident key runs AES-GCM inside the HSM.
 *
 * Encrypt takes an allocation from the key's Usage Limits before it encrypts (2.1 §6.1.17): one
 * unit per request (Unit Object) or per byte of Data (Unit Byte); more than remains is Permission
 * Denied (CS-BC-M-7).
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { KeyringError } from '../keys/types.js';
import { type CipherParams, type Direction, openSymmetric, requestParams, resolveParams, rsaDecrypt, rsaEncrypt } from '../crypto/cipher.js';
import { cipherStreams } from '../crypto/cipher-streams.js';
import { child, find } from '../objects/items.js';
import { keyFromBlock, symmetricBytes } from '../objects/key-formats.js';
import { assertUsable } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import { type KeyNeed, assertKeyFor, takeUsage, unsealedKey, wipe } from './crypto-key.js';
import { usageAllowance } from './get-usage-allocation.js';
import { residentKeys, residentRefOf } from './hsm-resident.js';
import { ownObject, reason, targetUid, uidItem } from './managed.js';
import type { OperationContext, OperationDefinition, OperationHandler } from './registry.js';

const NEEDS: Record<Direction, KeyNeed> = {
  encrypt: { objectTypes: ['SymmetricKey', 'PublicKey'], purpose: 'protect', usage: Mask.CryptographicUsageMask.Encrypt, operation: 'Encrypt' },
  decrypt: { objectTypes: ['SymmetricKey', 'PrivateKey'], purpose: 'process', usage: Mask.CryptographicUsageMask.Decrypt, operation: 'Decrypt' },
};

/** What an Encrypt or Decrypt request asks, read once. */
interface CipherRequest {
  readonly direction: Direction;
  readonly data: Uint8Array | undefined;
  readonly iv: Uint8Array | undefined;
  readonly aad: Uint8Array | undefined;
  readonly tag: Uint8Array | undefined;
  readonly correlation: Uint8Array | undefined;
  readonly init: boolean;
  readonly final: boolean;
}

function readRequest(payload: Fields, direction: Direction): CipherRequest {
  return {
    direction,
    data: payload.get(Tag.Data, 'ByteString'),
    iv: payload.get(Tag.IVCounterNonce, 'ByteString'),
    aad: payload.get(Tag.AuthenticatedEncryptionAdditionalData, 'ByteString'),
    tag: direction === 'decrypt' ? payload.get(Tag.AuthenticatedEncryptionTag, 'ByteString') : undefined,
    correlation: payload.get(Tag.CorrelationValue, 'ByteString'),
    init: payload.get(Tag.InitIndicator, 'Boolean') === true,
    final: payload.get(Tag.FinalIndicator, 'Boolean') === true,
  };
}

const dataItem = (data: Uint8Array): Item => item(Tag.Data, 'ByteString', data);

/** The handler of Encrypt (`'encrypt'`) or Decrypt (`'decrypt'`). */
export function cipherHandler(direction: Direction): OperationHandler {
  return async (payload, ctx) => {
    const req = readRequest(payload, direction);
    const op = NEEDS[direction].operation;
    if (req.correlation !== undefined) {
      if (req.init) throw new KmipError('InvalidField', `Init Indicator starts a stream and Correlation Value continues one; a ${op} request gives one or the other`);
      return continueStream(payload, req, ctx);
    }
    // 2.1 Table 214 / 196: Data is required for single-part operations.
    if (req.data === undefined && !req.init) throw new KmipError('InvalidMessage', `${op} needs Data`);
    const uid = targetUid(payload, ctx);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    if (residentRefOf(record) !== undefined) return residentCipher(payload, req, record, ctx);
    return localCipher(payload, req, record, ctx);
  };
}

/** A one-shot operation, or the first part of a stream, on key material unsealed for this request. */
async function localCipher(payload: Fields, req: CipherRequest, record: ManagedObjectRecord, ctx: OperationContext): Promise<Item[]> {
  const v2 = isV2(ctx.version);
  const uid = record.uid;
  const need = NEEDS[req.direction];
  const key = await unsealedKey(record, ctx, need);
  try {
    const params = resolveParams(requestParams(payload), key.parameters, key.algorithm, v2);
    const data = req.data ?? new Uint8Array(0);
    if (key.record.objectType !== 'SymmetricKey') return [uidItem(uid), dataItem(asymmetric(req, params, key.record.objectType, key.block, data, v2))];

    const material = symmetricBytes(key.block, key.block.need(Tag.KeyFormatType, 'Enumeration'));
    if (material === undefined) throw new KmipError('KeyFormatTypeNotSupported', `the key material of ${uid} is not Raw or Transparent Symmetric Key bytes`);
    const streaming = req.init && !req.final;
    const session = openSymmetric({ direction: req.direction, params, key: material, iv: req.iv, aad: req.aad, tag: req.tag, streaming, v2 });
    const ivItems = session.generatedIv === undefined ? [] : [item(Tag.IVCounterNonce, 'ByteString', session.generatedIv)];
    if (!streaming) {
      session.precheck(data.length);
      if (req.direction === 'encrypt') await allocateUsage(key.record, data.length, true, ctx);
      const head = session.update(data);
      const tail = session.final();
      const tagItems = tail.tag === undefined ? [] : [item(Tag.AuthenticatedEncryptionTag, 'ByteString', tail.tag)];
      return [uidItem(uid), dataItem(Buffer.concat([head, tail.data])), ...ivItems, ...tagItems];
    }
    const correlation = cipherStreams.open({ identity: ctx.identity.name, uid, operation: need.operation as 'Encrypt' | 'Decrypt', session });
    if (correlation === 'limit') {
      throw new KmipError(reason(ctx, 'ServerLimitExceeded', 'PermissionDenied'), `this client already has the most open ${need.operation} streams kmipd keeps; finish some with Final Indicator`);
    }
    let out: Buffer;
    try {
      if (req.direction === 'encrypt') await allocateUsage(key.record, data.length, true, ctx);
      out = session.update(data);
    } catch (err) {
      cipherStreams.close(correlation);
      throw err;
    }
    return [uidItem(uid), dataItem(out), ...ivItems, item(Tag.CorrelationValue, 'ByteString', correlation)];
  } finally {
    wipe(key.value);
  }
}

/** RSA Encrypt with a Public Key, Decrypt with a Private Key; one request each. */
function asymmetric(req: CipherRequest, params: CipherParams, type: ObjectTypeName, block: Fields, data: Uint8Array, v2: boolean): Buffer {
  if (params.algorithm !== Enum.CryptographicAlgorithm.RSA) {
    throw new KmipError(v2 ? 'UnsupportedCryptographicParameters' : 'FeatureNotSupported', 'kmipd encrypts with RSA public keys only (not EC or other asymmetric keys)');
  }
  if (req.init) throw new KmipError(v2 ? 'UnsupportedCryptographicParameters' : 'FeatureNotSupported', 'RSA encryption runs in one request; it cannot be streamed');
  if (req.iv !== undefined || req.aad !== undefined || req.tag !== undefined) {
    throw new KmipError('InvalidField', 'RSA takes no IV/Counter/Nonce, Authenticated Encryption Additional Data or Tag');
  }
  const key = keyFromBlock(type as 'PublicKey' | 'PrivateKey', block);
  return req.direction === 'encrypt' ? rsaEncrypt(params, key, data, v2) : rsaDecrypt(params, key, data, v2);
}

/** A later part of a stream: the same identity, key and operation; the key is checked again, as its state may have changed. */
async function continueStream(payload: Fields, req: CipherRequest, ctx: OperationContext): Promise<Item[]> {
  const need = NEEDS[req.direction];
  const correlation = req.correlation!;
  const stream = cipherStreams.find(ctx.identity.name, correlation, need.operation as 'Encrypt' | 'Decrypt');
  // The stream names its key; only an explicit Unique Identifier is compared (not the batch's ID Placeholder).
  const given = payload.get(Tag.UniqueIdentifier, 'TextString');
  if (stream === 'unknown' || (given !== undefined && given !== stream.uid)) {
    // 1.4 Tables 353/354: "No outstanding operation with the specified Correlation Value exists" → Item Not Found.
    throw new KmipError(reason(ctx, 'InvalidCorrelationValue', 'ItemNotFound'), `the Correlation Value names no open ${need.operation} stream of this client${stream === 'unknown' ? ' (it ended, expired, or never existed)' : ` for object ${String(given)}`}`);
  }
  try {
    // 2.1 Tables 196 / 214: Authenticated Encryption Additional Data and Tag come with the initial request only.
    if (req.aad !== undefined || req.tag !== undefined || req.iv !== undefined) {
      throw new KmipError('InvalidField', 'the IV/Counter/Nonce, Authenticated Encryption Additional Data and Tag are given on the initial request of a stream');
    }
    const record = await ctx.store.read((reader) => ownObject(reader, stream.uid as UniqueIdentifier, ctx));
    assertUsable(record, need.purpose, ctx.clock.now(), { version: ctx.version });
    const data = req.data ?? new Uint8Array(0);
    if (req.direction === 'encrypt') await allocateUsage(record, data.length, false, ctx);
    const out = stream.session.update(data);
    if (!req.final) return [uidItem(stream.uid), dataItem(out), item(Tag.CorrelationValue, 'ByteString', correlation)];
    cipherStreams.close(correlation);
    const tail = stream.session.final();
    const tagItems = tail.tag === undefined ? [] : [item(Tag.AuthenticatedEncryptionTag, 'ByteString', tail.tag)];
    return [uidItem(stream.uid), dataItem(Buffer.concat([out, tail.data])), ...tagItems];
  } catch (err) {
    // A part that failed leaves the stream in no state to continue.
    cipherStreams.close(correlation);
    throw err;
  }
}

/**
 * 2.1 §6.1.17: "the server SHALL obtain an allocation from the current Usage Limits value prior to
 * performing the encryption operation"; unable to → Permission Denied (CS-BC-M-7). Unit Object
 * counts the first request of an operation, Unit Byte every byte of Data. A key without Usage
 * Limits needs no write at all.
 */
async function allocateUsage(record: ManagedObjectRecord, bytes: number, first: boolean, ctx: OperationContext): Promise<void> {
  const allowance = usageAllowance(record.attributes);
  if (allowance === undefined) return;
  const unit = child(allowance.attribute, Tag.UsageLimitsUnit);
  const perByte = unit?.type === 'Enumeration' && unit.value === Enum.UsageLimitsUnit.Byte;
  if (!first && !perByte) return;
  await takeUsage(record, ctx, bytes, 'PermissionDenied');
}

/**
 * An HSM-resident key (Extractable false): AES-GCM in the HSM (src/keys/resident.ts), one request
 * at a time; the key never leaves the token. The checks are crypto-key.ts's, without the unseal.
 */
async function residentCipher(payload: Fields, req: CipherRequest, record: ManagedObjectRecord, ctx: OperationContext): Promise<Item[]> {
  const v2 = isV2(ctx.version);
  const need = NEEDS[req.direction];
  assertKeyFor(record, ctx, need);
  if (record.objectType !== 'SymmetricKey') throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `${need.operation} of an HSM-resident ${record.objectType} is not supported`);
  const attr = find(record.attributes, Tag.CryptographicParameters);
  const alg = find(record.attributes, Tag.CryptographicAlgorithm);
  const params = resolveParams(requestParams(payload), attr?.type === 'Structure' ? new Fields(attr) : undefined, alg?.type === 'Enumeration' ? alg.value : undefined, v2);
  const unsupported = (why: string): KmipError => new KmipError(v2 ? 'UnsupportedCryptographicParameters' : 'FeatureNotSupported', `object ${record.uid} is kept in the HSM, which runs ${why}`);
  if (params.algorithm !== Enum.CryptographicAlgorithm.AES || params.mode !== Enum.BlockCipherMode.GCM) throw unsupported('AES-GCM only: give Block Cipher Mode GCM');
  if (req.init) throw unsupported('one request at a time: it cannot be streamed');
  const tagLength = params.tagLength ?? 16;
  if (tagLength < 12 || tagLength > 16) throw new KmipError('InvalidField', `Tag Length ${tagLength} is not accepted for AES-GCM: 12 to 16 bytes`);
  const keys = residentKeys(ctx);
  const ref = residentRefOf(record)!;
  const data = req.data ?? new Uint8Array(0);
  const aad = req.aad === undefined ? {} : { aad: req.aad };
  try {
    if (req.direction === 'encrypt') {
      if (req.iv === undefined && !params.randomIv) throw new KmipError('InvalidMessage', 'AES-GCM needs an IV/Counter/Nonce (or Random IV true in the Cryptographic Parameters)');
      if (req.iv !== undefined && (req.iv.length < 1 || req.iv.length > 128)) throw new KmipError('InvalidField', `AES-GCM takes an IV/Counter/Nonce of 1 to 128 bytes, not ${req.iv.length}`);
      await allocateUsage(record, data.length, true, ctx);
      const out = await keys.encrypt(ref, data, { ...(req.iv === undefined ? {} : { iv: req.iv }), ...aad, tagLength });
      const ivItems = req.iv === undefined ? [item(Tag.IVCounterNonce, 'ByteString', out.iv)] : [];
      return [uidItem(record.uid), dataItem(out.ciphertext), ...ivItems, item(Tag.AuthenticatedEncryptionTag, 'ByteString', out.tag)];
    }
    if (req.iv === undefined) throw new KmipError('InvalidMessage', 'AES-GCM needs an IV/Counter/Nonce');
    if (req.tag === undefined) throw new KmipError('InvalidField', 'Decrypt with AES-GCM needs the Authenticated Encryption Tag');
    if (req.tag.length !== tagLength) throw new KmipError('InvalidField', `the Authenticated Encryption Tag is ${req.tag.length} bytes; the Tag Length is ${tagLength}`);
    const plain = await keys.decrypt(ref, data, req.tag, { iv: req.iv, ...aad, tagLength });
    return [uidItem(record.uid), dataItem(plain)];
  } catch (err) {
    if (!(err instanceof KeyringError)) throw err;
    ctx.log.warn({ uid: record.uid, err: err.message }, `HSM ${need.operation} failed`);
    throw new KmipError('CryptographicFailure', req.direction === 'decrypt' ? 'AES-GCM decryption failed in the HSM: the IV, tag or additional data does not match' : 'the HSM could not encrypt with this key');
  }
}

export const encrypt: OperationDefinition = {
  name: 'Encrypt',
  // Only the Usage Limits count changes, and only for keys that have Usage Limits.
  mutates: false,
  permission: 'read',
  objectTypes: ['SymmetricKey', 'PublicKey'],
  handler: cipherHandler('encrypt'),
};
