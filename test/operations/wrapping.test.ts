/**
 * Key wrapping end to end over real mutual TLS, in KMIP 2.1 and 1.4 form: Get with a Key Wrapping
 * Specification (AES key wrap, RFC 3394 / 5649), the envelope-encryption batch (Create + wrapped
 * Get + plain Get through the ID Placeholder), Register of a key wrapped under a server key
 * (bring your own key), and the refusals a client sees for an unusable wrapping key.
 */
import { constants, createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, decode, encode, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-wrapping-', 'wrapping-someone-else');
});
t.teardown(() => env.close());

const { WrapKey, UnwrapKey, Encrypt, Decrypt } = Mask.CryptographicUsageMask;
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const KWP_IV = Buffer.from('A65959A6', 'hex');
const mode = (value: number): Item => enumeration(Tag.BlockCipherMode, value);
const cryptoParams = (...children: Item[]): Item => structure(Tag.CryptographicParameters, children);
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
const isV2 = (v: ProtocolVersion): boolean => v.major >= 2;

/** Create's or Register's attributes in the version's form: 2.x Attributes, 1.x Template-Attribute. */
function attributes(version: ProtocolVersion, attrs: Item[]): Item {
  if (isV2(version)) return structure(Tag.Attributes, attrs);
  const title = (tag: number): string =>
    ({
      [Tag.CryptographicAlgorithm]: 'Cryptographic Algorithm',
      [Tag.CryptographicLength]: 'Cryptographic Length',
      [Tag.CryptographicUsageMask]: 'Cryptographic Usage Mask',
      [Tag.CryptographicParameters]: 'Cryptographic Parameters',
      [Tag.Name]: 'Name',
      [Tag.Extractable]: 'Extractable',
    })[tag]!;
  return structure(Tag.TemplateAttribute, attrs.map((a) => v1Attr(title(a.tag), a)));
}

function aesAttributes(version: ProtocolVersion, mask: number, ...more: Item[]): Item {
  return attributes(version, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256), integer(Tag.CryptographicUsageMask, mask), ...more]);
}

function createPayload(version: ProtocolVersion, mask: number, ...more: Item[]): Item[] {
  return [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), aesAttributes(version, mask, ...more)];
}

async function createKey(c: KmipClient, version: ProtocolVersion, mask: number, ...more: Item[]): Promise<string> {
  const created = await c.call('Create', createPayload(version, mask, ...more));
  return created.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

/** An Active AES-256 key-encryption key whose Cryptographic Parameters allow RFC 3394 and RFC 5649. */
async function createKek(c: KmipClient, version: ProtocolVersion, mask = WrapKey | UnwrapKey): Promise<string> {
  const id = await createKey(c, version, mask, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)), cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding)));
  await c.call('Activate', [uid(id)]);
  return id;
}

function keyBlock(payload: Fields): Fields {
  return payload.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);
}

async function plainKey(c: KmipClient, id: string): Promise<Buffer> {
  const got = await c.call('Get', [uid(id)]);
  return Buffer.from(keyBlock(got.payload!).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
}

function wrappingSpec(kek: string, params?: Item, encoding?: number): Item {
  return structure(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), ...(params ? [params] : [])]),
    ...(encoding === undefined ? [] : [enumeration(Tag.EncodingOption, encoding)]),
  ]);
}

function aesUnwrap(kek: Buffer, wrapped: Uint8Array, padded: boolean): Buffer {
  const d = createDecipheriv(`id-aes256-wrap${padded ? '-pad' : ''}`, kek, padded ? KWP_IV : KW_IV);
  return Buffer.concat([d.update(wrapped), d.final()]);
}

function aesWrap(kek: Buffer, plain: Uint8Array, padded: boolean): Buffer {
  const c = createCipheriv(`id-aes256-wrap${padded ? '-pad' : ''}`, kek, padded ? KWP_IV : KW_IV);
  return Buffer.concat([c.update(plain), c.final()]);
}

/** The Key Material a TTLV-encoded wrapped Key Value holds. */
function materialOf(ttlv: Buffer): Buffer {
  const keyValue = Fields.of(decode(ttlv), 'Key Value');
  t.equal(keyValue.item.tag, Tag.KeyValue, 'the wrapped bytes are a TTLV Key Value');
  return Buffer.from(keyValue.need(Tag.KeyMaterial, 'ByteString'));
}

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;

  t.test(`${v}: Get with a Key Wrapping Specification returns the key wrapped under the KEK, and it unwraps to the plain key`, async (t) => {
    const c = await env.connect(version);
    const kek = await createKek(c, version);
    const kekBytes = await plainKey(c, kek);
    const data = await createKey(c, version, Encrypt | Decrypt);
    const plain = await plainKey(c, data);

    // TTLV Encoding by default (KMIP 2.1 §7.18), NIST Key Wrap as the client asks (OASIS AX-M-2-21).
    const got = await c.call('Get', [uid(data), wrappingSpec(kek, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)))]);
    t.equal(got.payload!.need(Tag.UniqueIdentifier, 'TextString'), data);
    const block = keyBlock(got.payload!);
    t.equal(block.need(Tag.KeyFormatType, 'Enumeration'), Enum.KeyFormatType.Raw, 'the Key Format Type stays');
    t.equal(block.need(Tag.CryptographicLength, 'Integer'), 256, 'and the length');
    const wrapped = block.need(Tag.KeyValue, 'ByteString');
    t.notOk(Buffer.from(wrapped).includes(plain), 'the key bytes do not appear in the wrapped Key Value');
    const kwd = block.needStruct(Tag.KeyWrappingData);
    t.equal(kwd.need(Tag.WrappingMethod, 'Enumeration'), Enum.WrappingMethod.Encrypt);
    const info = kwd.needStruct(Tag.EncryptionKeyInformation);
    t.equal(info.need(Tag.UniqueIdentifier, 'TextString'), kek, 'Key Wrapping Data names the KEK');
    t.equal(info.needStruct(Tag.CryptographicParameters).need(Tag.BlockCipherMode, 'Enumeration'), Enum.BlockCipherMode.NISTKeyWrap);
    t.equal(kwd.get(Tag.EncodingOption, 'Enumeration'), undefined, 'no Encoding Option asked for, none answered: TTLV is implied (KMIP 2.1 §3.3, AX-M-2-21)');
    t.same(materialOf(aesUnwrap(kekBytes, wrapped, false)), plain, 'RFC 3394 unwrap (node:crypto) gives the plain Get');

    // No Encoding with AES Key Wrap Padding (RFC 5649): the Key Material bytes alone.
    const raw = await c.call('Get', [uid(data), wrappingSpec(kek, cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding)), Enum.EncodingOption.NoEncoding)]);
    const rawBlock = keyBlock(raw.payload!);
    t.equal(rawBlock.needStruct(Tag.KeyWrappingData).need(Tag.EncodingOption, 'Enumeration'), Enum.EncodingOption.NoEncoding);
    t.same(aesUnwrap(kekBytes, rawBlock.need(Tag.KeyValue, 'ByteString'), true), plain, 'RFC 5649 unwrap gives the key bytes');

    // Without parameters in the request, the KEK's first Cryptographic Parameters apply (2.1 §3.3).
    const implicit = await c.call('Get', [uid(data), wrappingSpec(kek)]);
    t.same(materialOf(aesUnwrap(kekBytes, keyBlock(implicit.payload!).need(Tag.KeyValue, 'ByteString'), false)), plain, "the KEK's own parameters (RFC 3394)");
    await c.close();
  });

  t.test(`${v}: envelope encryption — one batch Create + Get wrapped + Get plain through the ID Placeholder`, async (t) => {
    const c = await env.connect(version);
    const kek = await createKek(c, version);
    const kekBytes = await plainKey(c, kek);
    const response = await c.request({
      items: [
        { operation: Enum.Operation.Create, payload: createPayload(version, Encrypt | Decrypt) },
        { operation: Enum.Operation.Get, payload: [wrappingSpec(kek, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)))] },
        { operation: Enum.Operation.Get, payload: [] },
      ],
    });
    t.same(response.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'every item succeeds');
    const [created, wrappedGet, plainGet] = response.items.map((i) => i.payload!);
    const id = created!.need(Tag.UniqueIdentifier, 'TextString');
    t.equal(wrappedGet!.need(Tag.UniqueIdentifier, 'TextString'), id, 'the wrapped Get is of the new key');
    t.equal(plainGet!.need(Tag.UniqueIdentifier, 'TextString'), id, 'and so is the plain Get');
    const plain = keyBlock(plainGet!).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
    t.equal(plain.length, 32);
    t.same(materialOf(aesUnwrap(kekBytes, keyBlock(wrappedGet!).need(Tag.KeyValue, 'ByteString'), false)), Buffer.from(plain), 'the wrapped data key is the plain one');
    await c.close();
  });

  t.test(`${v}: Register of a key wrapped under a server KEK stores it unwrapped; Get returns the original`, async (t) => {
    const c = await env.connect(version);
    const kek = await createKek(c, version);
    const kekBytes = await plainKey(c, kek);
    const original = randomBytes(32);
    const register = (label: string, wrapped: Buffer, params: Item, encoding: number): Promise<unknown> =>
      c.call('Register', [
        enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
        attributes(version, [integer(Tag.CryptographicUsageMask, Encrypt | Decrypt), name(label)]),
        structure(Tag.SymmetricKey, [
          structure(Tag.KeyBlock, [
            enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
            item(Tag.KeyValue, 'ByteString', wrapped),
            enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
            integer(Tag.CryptographicLength, 256),
            structure(Tag.KeyWrappingData, [
              enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
              structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), params]),
              enumeration(Tag.EncodingOption, encoding),
            ]),
          ]),
        ]),
      ]);
    const located = async (label: string): Promise<string[]> => {
      const found = await c.call('Locate', isV2(version) ? [structure(Tag.Attributes, [name(label)])] : [v1Attr('Name', name(label))]);
      return found.payload!.values(Tag.UniqueIdentifier, 'TextString');
    };

    // AES-KWP (RFC 5649) of the bare key bytes, as cloud BYOK tools produce it.
    const kwp = aesWrap(kekBytes, original, true);
    const reg = (await register(`byok-kwp-${v}`, kwp, cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding)), Enum.EncodingOption.NoEncoding)) as { payload: Fields };
    const id = reg.payload.need(Tag.UniqueIdentifier, 'TextString');
    t.same(await plainKey(c, id), original, 'Get returns the unwrapped original');
    const length = await c.call('GetAttributes', [uid(id), ...(isV2(version) ? [enumeration(Tag.AttributeReference, Tag.CryptographicLength)] : [text(Tag.AttributeName, 'Cryptographic Length')])]);
    t.ok(length.payload, 'its attributes are readable');

    // RFC 3394 of the TTLV-encoded Key Value.
    const ttlvOriginal = randomBytes(32);
    const kw = aesWrap(kekBytes, encode(structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', ttlvOriginal)])), false);
    const reg2 = (await register(`byok-kw-${v}`, kw, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)), Enum.EncodingOption.TTLVEncoding)) as { payload: Fields };
    t.same(await plainKey(c, reg2.payload.need(Tag.UniqueIdentifier, 'TextString')), ttlvOriginal, 'TTLV-encoded wrapped Key Value');

    // Altered wrapped bytes: refused, and nothing is stored.
    const altered = Buffer.from(kwp);
    altered[3]! ^= 1;
    const bad = await refusal(register(`byok-altered-${v}`, altered, cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding)), Enum.EncodingOption.NoEncoding));
    t.equal(bad.reason, 'CryptographicFailure', 'altered wrapped bytes fail the integrity check');
    t.same(await located(`byok-altered-${v}`), [], 'no object was registered');

    // The wrong Encoding Option: the unwrapped bytes are no TTLV Key Value.
    const enc = await refusal(register(`byok-encoding-${v}`, kwp, cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding)), Enum.EncodingOption.TTLVEncoding));
    t.equal(enc.reason, 'EncodingOptionError');

    // A KEK without the Unwrap Key usage cannot unwrap.
    const wrapOnly = await createKek(c, version, WrapKey);
    const wrapOnlyBytes = await plainKey(c, wrapOnly);
    const noUnwrap = await refusal(
      c.call('Register', [
        enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
        attributes(version, [integer(Tag.CryptographicUsageMask, Encrypt)]),
        structure(Tag.SymmetricKey, [
          structure(Tag.KeyBlock, [
            enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
            item(Tag.KeyValue, 'ByteString', aesWrap(wrapOnlyBytes, original, true)),
            enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
            integer(Tag.CryptographicLength, 256),
            structure(Tag.KeyWrappingData, [
              enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
              structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, wrapOnly), cryptoParams(mode(Enum.BlockCipherMode.AESKeyWrapPadding))]),
              enumeration(Tag.EncodingOption, Enum.EncodingOption.NoEncoding),
            ]),
          ]),
        ]),
      ]),
    );
    t.equal(noUnwrap.reason, isV2(version) ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', 'Unwrap Key usage is needed');
    t.match(noUnwrap.message, /Unwrap Key/);
    await c.close();

    const files = ['kmipd.sqlite', 'kmipd.sqlite-wal'].map((f) => join(env.dir, f)).filter((f) => existsSync(f));
    for (const f of files) t.equal(readFileSync(f).indexOf(original), -1, `${f} holds no plaintext of the registered key`);
  });

  t.test(`${v}: Get wrapped is refused for a deactivated KEK, a KEK without Wrap Key, another owner's KEK, and a mode that does not wrap keys`, async (t) => {
    const c = await env.connect(version);
    const data = await createKey(c, version, Encrypt | Decrypt);
    const getWrapped = (kek: string, params?: Item): Promise<unknown> => c.call('Get', [uid(data), wrappingSpec(kek, params)]);

    const deactivated = await createKek(c, version);
    await c.call('Revoke', [uid(deactivated), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]);
    const off = await refusal(getWrapped(deactivated));
    t.equal(off.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'a Deactivated KEK cannot wrap');
    t.match(off.message, /Deactivated/);

    const preActive = await createKey(c, version, WrapKey, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)));
    t.equal((await refusal(getWrapped(preActive))).reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'a Pre-Active KEK cannot wrap');

    const encryptOnly = await createKek(c, version, Encrypt | Decrypt);
    const mask = await refusal(getWrapped(encryptOnly));
    t.equal(mask.reason, isV2(version) ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', 'a KEK without the Wrap Key usage');
    t.match(mask.message, /Wrap Key/);

    const other = await env.connect(version, env.other);
    const theirs = await createKek(other, version);
    await other.close();
    const foreign = await refusal(getWrapped(theirs));
    t.equal(foreign.reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound', "another owner's KEK is as good as absent");
    t.equal((await refusal(getWrapped('no-such-key'))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound', 'an unknown KEK');

    const kek = await createKek(c, version);
    const cbc = await refusal(getWrapped(kek, cryptoParams(mode(Enum.BlockCipherMode.CBC))));
    // KMIP 2.1 §7.18 / 1.4 §11.12: parameters the KEK's Cryptographic Parameters do not allow.
    t.equal(cbc.reason, isV2(version) ? 'BadCryptographicParameters' : 'ItemNotFound', 'CBC is not among the KEK parameters');
    const cbcKek = await createKey(c, version, WrapKey, cryptoParams(mode(Enum.BlockCipherMode.CBC)));
    await c.call('Activate', [uid(cbcKek)]);
    const notWrap = await refusal(getWrapped(cbcKek, cryptoParams(mode(Enum.BlockCipherMode.CBC))));
    t.equal(notWrap.reason, isV2(version) ? 'BadCryptographicParameters' : 'InvalidField', 'CBC does not wrap keys');
    t.match(notWrap.message, /NIST Key Wrap/);

    const mac = await refusal(
      c.call('Get', [uid(data), structure(Tag.KeyWrappingSpecification, [enumeration(Tag.WrappingMethod, Enum.WrappingMethod.MACSign), structure(Tag.MACSignatureKeyInformation, [text(Tag.UniqueIdentifier, kek)])])]),
    );
    t.equal(mac.reason, isV2(version) ? 'KeyWrapTypeNotSupported' : 'FeatureNotSupported', 'MAC/sign wrapping is not supported');

    const kept = await createKey(c, version, Encrypt | Decrypt, item(Tag.Extractable, 'Boolean', false));
    const notExtractable = await refusal(c.call('Get', [uid(kept), wrappingSpec(kek, cryptoParams(mode(Enum.BlockCipherMode.NISTKeyWrap)))]));
    t.equal(notExtractable.reason, 'NotExtractable', 'a key marked not Extractable does not leave the server, even wrapped');

    const secret = await c.call('Register', [
      enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
      attributes(version, [integer(Tag.CryptographicUsageMask, WrapKey)]),
      structure(Tag.SecretData, [
        enumeration(Tag.SecretDataType, Enum.SecretDataType.Password),
        structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', Buffer.from('hunter2'))])]),
      ]),
    ]);
    const notKey = await refusal(getWrapped(secret.payload!.need(Tag.UniqueIdentifier, 'TextString')));
    t.equal(notKey.reason, isV2(version) ? 'InvalidObjectType' : 'IllegalOperation', 'Secret Data is not a wrapping key');
    await c.close();
  });
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const oaepSha256 = (): Item =>
  cryptoParams(
    enumeration(Tag.PaddingMethod, Enum.PaddingMethod.OAEP),
    enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA_256),
    enumeration(Tag.MaskGeneratorHashingAlgorithm, Enum.HashingAlgorithm.SHA_256),
  );

/** Registers and activates one half of `rsa` with the given usage and OAEP SHA-256 parameters. */
async function registerRsa(c: KmipClient, version: ProtocolVersion, kind: 'PublicKey' | 'PrivateKey', mask: number): Promise<string> {
  const der = kind === 'PublicKey' ? rsa.publicKey.export({ format: 'der', type: 'spki' }) : rsa.privateKey.export({ format: 'der', type: 'pkcs8' });
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType[kind]),
    attributes(version, [integer(Tag.CryptographicUsageMask, mask), oaepSha256()]),
    structure(Tag[kind], [
      structure(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, kind === 'PublicKey' ? Enum.KeyFormatType.X_509 : Enum.KeyFormatType.PKCS_8),
        structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', der)]),
        enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA),
        integer(Tag.CryptographicLength, 2048),
      ]),
    ]),
  ]);
  const id = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  return id;
}

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;

  t.test(`${v}: RSA-OAEP (SHA-256) — Get wrapped under a registered RSA Public Key, and Register of a key wrapped for its Private Key`, async (t) => {
    const c = await env.connect(version);
    const pub = await registerRsa(c, version, 'PublicKey', WrapKey);
    const priv = await registerRsa(c, version, 'PrivateKey', UnwrapKey);
    const data = await createKey(c, version, Encrypt | Decrypt);
    const plain = await plainKey(c, data);

    const got = await c.call('Get', [uid(data), wrappingSpec(pub, oaepSha256())]);
    const block = keyBlock(got.payload!);
    t.equal(block.needStruct(Tag.KeyWrappingData).needStruct(Tag.EncryptionKeyInformation).need(Tag.UniqueIdentifier, 'TextString'), pub);
    const opened = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, block.need(Tag.KeyValue, 'ByteString'));
    t.same(materialOf(opened), plain, 'the RSA private key (node:crypto) opens the wrapped Key Value to the plain key');

    const original = randomBytes(32);
    const wrapped = publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, original);
    const byok = (kek: string): Promise<{ payload?: Fields }> =>
      c.call('Register', [
        enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
        attributes(version, [integer(Tag.CryptographicUsageMask, Encrypt | Decrypt)]),
        structure(Tag.SymmetricKey, [
          structure(Tag.KeyBlock, [
            enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
            item(Tag.KeyValue, 'ByteString', wrapped),
            enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
            integer(Tag.CryptographicLength, 256),
            structure(Tag.KeyWrappingData, [
              enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
              structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), oaepSha256()]),
              enumeration(Tag.EncodingOption, Enum.EncodingOption.NoEncoding),
            ]),
          ]),
        ]),
      ]);
    const reg = await byok(priv);
    t.same(await plainKey(c, reg.payload!.need(Tag.UniqueIdentifier, 'TextString')), original, 'the key registered wrapped for the Private Key is stored as the original');
    const wrongHalf = await refusal(byok(pub));
    t.equal(wrongHalf.reason, isV2(version) ? 'InvalidObjectType' : 'IllegalOperation', 'a Public Key cannot unwrap');
    await c.close();
  });
}
