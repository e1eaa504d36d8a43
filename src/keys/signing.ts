/**
 * Audit signing keys: ECDSA P-256 key pairs by generation, `kmipd-audit-<n>`.
 *
 * - PKCS#11: a token key pair (private key CKA_SENSITIVE, CKA_EXTRACTABLE false, CKA_SIGN only)
 *   labelled `kmipd-audit-<n>`; signing is CKM_ECDSA over a SHA-256 digest computed here
 *   (PKCS#11 v2.40 §2.3.6), so tokens without CKM_ECDSA_SHA256 work too.
 * - Software (development keystore): `audit-signing-<n>.pem` in the data directory, mode 0600.
 *
 * A key's id is the SHA-256 of its SubjectPublicKeyInfo, which is what a verifier is given.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign as nodeSign } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Handle, type Module, P } from './pkcs11-module.js';
import type { HsmRunner } from './resident.js';
import { KeyringError, type SigningKey, type SigningKeys } from './types.js';

export const SIGNING_LABEL_PREFIX = 'kmipd-audit-';
const SIGNING_FILE = /^audit-signing-(\d+)\.pem$/;
/** DER of the OID prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS of a P-256 key. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** SubjectPublicKeyInfo prefix of an uncompressed P-256 point (RFC 5480). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

function signingKey(generation: number, publicKey: KeyObject, sign: (message: Uint8Array) => Promise<Buffer>): SigningKey {
  return { generation, keyId: keyIdOf(publicKey), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), sign };
}

export class SoftwareSigningKeys implements SigningKeys {
  constructor(private readonly dataDir: string) {}

  newest(): Promise<SigningKey> {
    const generation = this.generations().at(-1);
    return Promise.resolve(generation === undefined ? this.make(1) : this.load(generation));
  }

  create(): Promise<SigningKey> {
    return Promise.resolve(this.make((this.generations().at(-1) ?? 0) + 1));
  }

  private generations(): number[] {
    return readdirSync(this.dataDir)
      .map((f) => SIGNING_FILE.exec(f)?.[1])
      .filter((g): g is string => g !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private load(generation: number): SigningKey {
    const privateKey = createPrivateKey(readFileSync(this.file(generation)));
    return signingKey(generation, createPublicKey(privateKey), (message) => Promise.resolve(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
  }

  private make(generation: number): SigningKey {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    try {
      // 'wx': never overwrite a key another process made meanwhile; that one wins.
      const fd = openSync(this.file(generation), 'wx', 0o600);
      try {
        writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return this.load(generation);
  }

  private file(generation: number): string {
    return join(this.dataDir, `audit-signing-${generation}.pem`);
  }
}

export class Pkcs11SigningKeys implements SigningKeys {
  constructor(private readonly run: HsmRunner) {}

  newest(): Promise<SigningKey> {
    return this.run('find the audit signing key', async (m, session) => {
      let generation = 0;
      while (findKey(m, session, P.CKO_PRIVATE_KEY, generation + 1) !== undefined) generation++;
      if (generation === 0) return this.generate(m, session, 1);
      return this.key(m, session, generation);
    });
  }

  create(): Promise<SigningKey> {
    return this.run('create an audit signing key', async (m, session) => {
      let generation = 1;
      while (findKey(m, session, P.CKO_PRIVATE_KEY, generation) !== undefined) generation++;
      return this.generate(m, session, generation);
    });
  }

  private async generate(m: Module, session: Handle, generation: number): Promise<SigningKey> {
    const label = `${SIGNING_LABEL_PREFIX}${generation}`;
    const common = [
      { type: P.CKA_TOKEN, value: true },
      { type: P.CKA_LABEL, value: label },
      { type: P.CKA_ID, value: Buffer.from(label, 'utf8') },
    ];
    await m.C_GenerateKeyPairAsync(
      session,
      { mechanism: P.CKM_EC_KEY_PAIR_GEN },
      [...common, { type: P.CKA_EC_PARAMS, value: P256_PARAMS }, { type: P.CKA_VERIFY, value: true }, { type: P.CKA_PRIVATE, value: false }],
      [
        ...common,
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: true },
        { type: P.CKA_EXTRACTABLE, value: false },
        { type: P.CKA_SIGN, value: true },
        { type: P.CKA_DECRYPT, value: false },
        { type: P.CKA_DERIVE, value: false },
      ],
    );
    return this.key(m, session, generation);
  }

  private key(m: Module, session: Handle, generation: number): SigningKey {
    const publicHandle = findKey(m, session, P.CKO_PUBLIC_KEY, generation);
    if (publicHandle === undefined) throw new KeyringError(`the HSM holds no public key ${SIGNING_LABEL_PREFIX}${generation}`);
    const [point] = m.C_GetAttributeValue(session, publicHandle, [{ type: P.CKA_EC_POINT }]);
    const publicKey = createPublicKey({ key: spkiOf(point?.value as Buffer), format: 'der', type: 'spki' });
    return signingKey(generation, publicKey, (message) =>
      this.run('sign an audit checkpoint', async (mm, s) => {
        const handle = findKey(mm, s, P.CKO_PRIVATE_KEY, generation);
        if (handle === undefined) throw new KeyringError(`the HSM holds no private key ${SIGNING_LABEL_PREFIX}${generation}`);
        mm.C_SignInit(s, { mechanism: P.CKM_ECDSA }, handle);
        return mm.C_SignAsync(s, createHash('sha256').update(message).digest(), Buffer.alloc(132));
      }),
    );
  }
}

function findKey(m: Module, session: Handle, keyClass: number, generation: number): Handle | undefined {
  const label = `${SIGNING_LABEL_PREFIX}${generation}`;
  m.C_FindObjectsInit(session, [
    { type: P.CKA_CLASS, value: keyClass },
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_LABEL, value: label },
  ]);
  try {
    return m.C_FindObjects(session, 1)[0];
  } finally {
    m.C_FindObjectsFinal(session);
  }
}

/** CKA_EC_POINT is the point as a DER OCTET STRING (PKCS#11 v2.40 §2.3.3); some tokens give the bare point. */
function spkiOf(ecPoint: Buffer | undefined): Buffer {
  if (!ecPoint) throw new KeyringError('the HSM gave no EC point for the audit signing key');
  let point = ecPoint;
  if (point.length === 67 && point[0] === 0x04 && point[1] === 0x41) point = point.subarray(2);
  if (point.length !== 65 || point[0] !== 0x04) throw new KeyringError('the audit signing key is not an uncompressed P-256 point');
  return Buffer.concat([P256_SPKI_PREFIX, point]);
}
