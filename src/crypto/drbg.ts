/**
 * HMAC_DRBG with HMAC-SHA-256 (NIST SP 800-90A Rev. 1 §10.1.2), a construction over node:crypto's
 * HMAC. RNG Retrieve answers from it and RNG Seed mixes client material into it (KMIP 2.1
 * §6.1.49/§6.1.50, src/operations/rng-*.ts).
 *
 * The mechanism functions (hmacDrbgInstantiate, hmacDrbgReseed, hmacDrbgGenerate) are the spec's
 * algorithms over an explicit working state, so the NIST CAVP vectors test them directly.
 * `HmacDrbg` binds them to an entropy source and always asks for prediction resistance (§9.3.1):
 * every Generate reseeds from fresh entropy first. Material a client seeds with is only ever
 * additional input beside fresh entropy: it can add to the state's unpredictability, never decide it.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** SHA-256 output length (outlen), in bytes. */
const OUTLEN = 32;
/** SP 800-90A Table 2: HMAC_DRBG with SHA-256 reaches security strength 256 bits; entropy input is at least that. */
export const ENTROPY_BYTES = 32;
/** §8.6.7: the nonce has at least half the security strength. */
export const NONCE_BYTES = 16;
/** Table 2: max_number_of_bits_per_request = 2^19 bits. */
export const MAX_BYTES_PER_REQUEST = 65536;
/** Table 2: at most 2^48 requests between reseeds (with prediction resistance there is never more than one). */
const RESEED_INTERVAL = 2 ** 48;
/** Table 2: personalization string and additional input are at most 2^35 bits. */
const MAX_INPUT_BYTES = 2 ** 32;

const EMPTY = Buffer.alloc(0);
const ZERO = Buffer.of(0x00);
const ONE = Buffer.of(0x01);

/** The working state of §10.1.2.1: Key and V (outlen bytes each) and the reseed counter. */
export interface DrbgState {
  key: Buffer;
  v: Buffer;
  reseedCounter: number;
}

function hmac(key: Buffer, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Replaces Key or V, zeroing the value it replaces. */
function replace(state: DrbgState, field: 'key' | 'v', value: Buffer): void {
  state[field].fill(0);
  state[field] = value;
}

/** §10.1.2.2 HMAC_DRBG_Update: Key and V absorb the provided data (or just stir, when there is none). */
export function hmacDrbgUpdate(state: DrbgState, provided: Uint8Array): void {
  for (const separator of provided.length === 0 ? [ZERO] : [ZERO, ONE]) {
    replace(state, 'key', hmac(state.key, state.v, separator, provided));
    replace(state, 'v', hmac(state.key, state.v));
  }
}

function checkInput(what: string, input: Uint8Array): void {
  if (input.length > MAX_INPUT_BYTES) throw new RangeError(`HMAC_DRBG: the ${what} is longer than 2^35 bits`);
}

/** §10.1.2.3 HMAC_DRBG_Instantiate_algorithm. */
export function hmacDrbgInstantiate(entropy: Uint8Array, nonce: Uint8Array, personalization: Uint8Array = EMPTY): DrbgState {
  if (entropy.length < ENTROPY_BYTES) throw new RangeError(`HMAC_DRBG: entropy input must be at least ${ENTROPY_BYTES} bytes`);
  if (nonce.length < NONCE_BYTES) throw new RangeError(`HMAC_DRBG: the nonce must be at least ${NONCE_BYTES} bytes`);
  checkInput('personalization string', personalization);
  const state: DrbgState = { key: Buffer.alloc(OUTLEN, 0x00), v: Buffer.alloc(OUTLEN, 0x01), reseedCounter: 1 };
  hmacDrbgUpdate(state, Buffer.concat([entropy, nonce, personalization]));
  return state;
}

/** §10.1.2.4 HMAC_DRBG_Reseed_algorithm. */
export function hmacDrbgReseed(state: DrbgState, entropy: Uint8Array, additionalInput: Uint8Array = EMPTY): void {
  if (entropy.length < ENTROPY_BYTES) throw new RangeError(`HMAC_DRBG: entropy input must be at least ${ENTROPY_BYTES} bytes`);
  checkInput('additional input', additionalInput);
  hmacDrbgUpdate(state, Buffer.concat([entropy, additionalInput]));
  state.reseedCounter = 1;
}

/** §10.1.2.5 HMAC_DRBG_Generate_algorithm: `bytes` bytes of output. */
export function hmacDrbgGenerate(state: DrbgState, bytes: number, additionalInput: Uint8Array = EMPTY): Buffer {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BYTES_PER_REQUEST) throw new RangeError(`HMAC_DRBG: a request is 0 to ${MAX_BYTES_PER_REQUEST} bytes, not ${bytes}`);
  if (state.reseedCounter > RESEED_INTERVAL) throw new Error('HMAC_DRBG: a reseed is required');
  checkInput('additional input', additionalInput);
  if (additionalInput.length > 0) hmacDrbgUpdate(state, additionalInput);
  const out = Buffer.alloc(bytes);
  for (let filled = 0; filled < bytes; ) {
    replace(state, 'v', hmac(state.key, state.v));
    filled += state.v.copy(out, filled);
  }
  hmacDrbgUpdate(state, additionalInput);
  state.reseedCounter++;
  return out;
}

/** `bytes` bytes of entropy input (or nonce). */
export type EntropySource = (bytes: number) => Uint8Array;

/**
 * An instantiated HMAC_DRBG (SHA-256, security strength 256) that reseeds from its entropy source
 * before every Generate. The default source is node:crypto's randomBytes (OpenSSL's DRBG, seeded
 * by the operating system); tests give a fixed one.
 */
export class HmacDrbg {
  private readonly state: DrbgState;

  constructor(private readonly entropy: EntropySource = randomBytes) {
    this.state = hmacDrbgInstantiate(entropy(ENTROPY_BYTES), entropy(NONCE_BYTES));
  }

  /** §9.2 Reseed: fresh entropy, with `additionalInput` (say, a client's RNG Seed data) mixed in beside it. */
  reseed(additionalInput: Uint8Array = EMPTY): void {
    hmacDrbgReseed(this.state, this.entropy(ENTROPY_BYTES), additionalInput);
  }

  /**
   * §9.3.1 Generate with prediction_resistance_request set: reseed with fresh entropy and the
   * additional input, then generate without it.
   */
  generate(bytes: number, additionalInput: Uint8Array = EMPTY): Buffer {
    this.reseed(additionalInput);
    return hmacDrbgGenerate(this.state, bytes);
  }
}
