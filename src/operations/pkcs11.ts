/**
 * PKCS#11 (KMIP 2.1 §6.1.37): a client calls PKCS#11 functions through KMIP, and the server answers
 * from the PKCS#11 library it runs on — for kmipd, the library of the pkcs11 keyring's HSM.
 *
 * kmipd offers the general-purpose functions only: C_Initialize, C_GetInfo and C_Finalize. Every
 * other function of the interface would reach the token that holds kmipd's master key, in a
 * session already logged in with kmipd's PIN, and bypass kmipd's own access control; those
 * functions answer the PKCS#11 return code CKR_FUNCTION_NOT_SUPPORTED, as a library does for a
 * function it does not provide. A keyring without a PKCS#11 library (software) has no interface
 * to offer: Result Reason PKCS#11 Invalid Interface.
 *
 * Parameters use the PKCS#11 encoding of KMIP Profiles 2.1 (PKCS#11 profile): CK_BYTE one byte,
 * CK_ULONG 8 bytes big-endian, structures in line, blank-padded fixed-length strings.
 *
 * C_Initialize opens an application context for the client and answers a Correlation Value that
 * later calls send back (Table 273); C_Finalize closes it. Contexts are kept in this process only,
 * bounded and expiring: in a cluster a context is known to the worker that opened it.
 */
import { randomBytes } from 'node:crypto';
import type { Item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { expectType } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import type { Keyring } from '../keys/types.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const F = Enum.PKCS_11Function;
const FUNCTIONS: ReadonlySet<number> = new Set(Object.values(F));
type ReturnCodeName = keyof typeof Enum.PKCS_11ReturnCode;

/** PKCS#11 v3.0 §5.2: the name of the default interface (CK_FUNCTION_LIST_3_0). */
export const DEFAULT_INTERFACE = 'PKCS 11';
/** Open application contexts kept at most; the oldest is dropped beyond this. */
export const MAX_CONTEXTS = 1024;
/** A context unused for this long is forgotten (as if the client had called C_Finalize). */
export const CONTEXT_IDLE_SECONDS = 60 * 60;
const CORRELATION_BYTES = 16;

interface AppContext {
  /** The identity that opened it: a correlation value is no use to another client. */
  owner: string;
  /** Seconds since the epoch, by the server's clock. */
  lastUse: number;
}

/** Open contexts by hex correlation value, oldest first (a Map keeps insertion order). */
const contexts = new Map<string, AppContext>();

/** CK_INFO (PKCS#11 v2.40 §3.1), its strings blank padded as the library reports them. */
export interface Pkcs11LibraryInfo {
  cryptokiVersion: { major: number; minor: number };
  manufacturerID: string;
  flags: number;
  libraryDescription: string;
  libraryVersion: { major: number; minor: number };
}

/** A keyring on a PKCS#11 library (src/keys/pkcs11.ts) can say what the library is. */
interface Pkcs11Library {
  libraryInfo(): Promise<Pkcs11LibraryInfo>;
}

function libraryOf(keyring: Keyring): Pkcs11Library | undefined {
  const candidate = keyring as Keyring & Partial<Pkcs11Library>;
  return keyring.kind === 'pkcs11' && typeof candidate.libraryInfo === 'function' ? (candidate as Pkcs11Library) : undefined;
}

interface Call {
  library: Pkcs11Library;
  fn: number;
  input: Uint8Array | undefined;
  correlation: Uint8Array | undefined;
  ctx: OperationContext;
}

interface Answer {
  rv: ReturnCodeName;
  output?: Uint8Array;
  correlation?: Uint8Array;
}

export const pkcs11: OperationDefinition = {
  name: 'PKCS_11',
  mutates: false,
  permission: 'public',
  async handler(payload, ctx) {
    const iface = payload.get(Tag.PKCS_11Interface, 'TextString');
    if (iface !== undefined && iface !== DEFAULT_INTERFACE) {
      throw new KmipError('PKCS_11InvalidInterface', `kmipd offers only the PKCS#11 interface "${DEFAULT_INTERFACE}"`);
    }
    const fnItem = payload.required(Tag.PKCS_11Function);
    // Table 273: an Integer names a vendor-defined function; kmipd defines none.
    if (fnItem.type === 'Integer') throw new KmipError('PKCS_11InvalidFunction', `kmipd defines no vendor PKCS#11 function (${fnItem.value})`);
    const fn = expectType(fnItem, 'Enumeration').value;
    if (!FUNCTIONS.has(fn)) throw new KmipError('PKCS_11InvalidFunction', `PKCS#11 function 0x${fn.toString(16)} is not in the interface`);
    const library = libraryOf(ctx.keyring);
    if (!library) {
      throw new KmipError('PKCS_11InvalidInterface', 'the PKCS#11 interface is unavailable: kmipd runs on the software keyring, which has no PKCS#11 library');
    }
    const call: Call = {
      library,
      fn,
      input: payload.get(Tag.PKCS_11InputParameters, 'ByteString'),
      correlation: payload.get(Tag.CorrelationValue, 'ByteString'),
      ctx,
    };
    const answer = await perform(call);
    // Table 274, in its order.
    const out: Item[] = [];
    if (iface !== undefined) out.push({ tag: Tag.PKCS_11Interface, type: 'TextString', value: iface });
    out.push({ tag: Tag.PKCS_11Function, type: 'Enumeration', value: call.fn });
    if (answer.correlation) out.push({ tag: Tag.CorrelationValue, type: 'ByteString', value: answer.correlation });
    if (answer.output) out.push({ tag: Tag.PKCS_11OutputParameters, type: 'ByteString', value: answer.output });
    out.push({ tag: Tag.PKCS_11ReturnCode, type: 'Enumeration', value: Enum.PKCS_11ReturnCode[answer.rv] });
    return out;
  },
};

async function perform(call: Call): Promise<Answer> {
  expireContexts(call.ctx.clock.now());
  if (call.fn === F.C_Initialize) return initialize(call);
  const key = contextKey(call);
  if (key === undefined) return { rv: 'CRYPTOKI_NOT_INITIALIZED' };
  contexts.get(key)!.lastUse = call.ctx.clock.now();
  switch (call.fn) {
    case F.C_GetInfo:
      if (hasInput(call)) return { rv: 'ARGUMENTS_BAD' };
      return { rv: 'OK', output: encodeInfo(await call.library.libraryInfo()) };
    case F.C_Finalize:
      // pReserved "should be NULL_PTR" (PKCS#11 v2.40 §5.4): anything sent for it is refused.
      if (hasInput(call)) return { rv: 'ARGUMENTS_BAD' };
      contexts.delete(key);
      return { rv: 'OK' };
    default:
      return { rv: 'FUNCTION_NOT_SUPPORTED' };
  }
}

/**
 * A new application context. The input (CK_C_INITIALIZE_ARGS: mutex callbacks and threading
 * flags) concerns the calling process's use of a local library and has no meaning over KMIP; the
 * server's library runs with its own locking. It is therefore not interpreted.
 */
function initialize(call: Call): Answer {
  if (contextKey(call) !== undefined) return { rv: 'CRYPTOKI_ALREADY_INITIALIZED' };
  const correlation = randomBytes(CORRELATION_BYTES);
  while (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
  contexts.set(correlation.toString('hex'), { owner: call.ctx.identity.name, lastUse: call.ctx.clock.now() });
  return { rv: 'OK', correlation };
}

/** The caller's open context, if the Correlation Value names one of its own. */
function contextKey(call: Call): string | undefined {
  if (call.correlation === undefined) return undefined;
  const key = Buffer.from(call.correlation).toString('hex');
  return contexts.get(key)?.owner === call.ctx.identity.name ? key : undefined;
}

function expireContexts(now: number): void {
  for (const [key, c] of contexts) if (now - c.lastUse > CONTEXT_IDLE_SECONDS) contexts.delete(key);
}

function hasInput(call: Call): boolean {
  return call.input !== undefined && call.input.length > 0;
}

/** CK_INFO (PKCS#11 v2.40 §3.1) in the profile's encoding: 76 bytes. */
export function encodeInfo(info: Pkcs11LibraryInfo): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeBigUInt64BE(BigInt(info.flags));
  return Buffer.concat([
    Buffer.from([info.cryptokiVersion.major, info.cryptokiVersion.minor]),
    blankPadded(info.manufacturerID),
    flags,
    blankPadded(info.libraryDescription),
    Buffer.from([info.libraryVersion.major, info.libraryVersion.minor]),
  ]);
}

/** A CK_UTF8CHAR[32] field: blank padded, never NUL terminated. */
function blankPadded(text: string): Buffer {
  const out = Buffer.alloc(32, ' ');
  Buffer.from(text.replace(/[\0 ]+$/, ''), 'utf8').copy(out, 0, 0, 32);
  return out;
}
