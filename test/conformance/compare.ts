/**
 * Compares a kmipd response with the expected response of an OASIS test case, item by item:
 * tags, types, values and order. Everything is exact except the placeholder rules of
 * ../shared/kmip-testcases/README.md and the relaxations in RELAXED below, each justified by an
 * item of KMIP Profiles 2.1 §4.1 ("Other variations ... SHALL be deemed non-conformant").
 */
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, type LeafItem, isPlaceholder, registry, toXml } from '../../src/ttlv/index.js';

/** Every comparison that is not exact equality, with the clause that allows it. */
export const RELAXED = {
  'now-window': 'A $NOW±n Date-Time in a response is any time within [file start + n − 5 s, now + n + 5 s] (README: "$NOW … accept any valid Date-Time, optionally within a tolerance").',
  'bind-on-first-sight': 'A $NAME placeholder in a response (unique identifiers, key material, crypto output, correlation values) binds to whatever value of the same type the server sends first, if no other placeholder of its family ($UNIQUE_IDENTIFIER_0, _1…) holds that value; later occurrences must be equal (README placeholder table).',
  'time-stamp': 'Response header Time Stamp: any Date-Time (§4.1.1 Time Stamp).',
  'correlation-values': 'Response header Client/Server Correlation Value: may be absent, extra or different (§4.1.1 Server and Client Correlation Values).',
  'batch-item-id': 'Unique Batch Item ID and Asynchronous Correlation Value: any Byte String (§4.1.1).',
  'result-message': 'Result Message: any text, or none (§4.1.1 "any or no Result Message text").',
  'message-extension': 'An extra non-critical Message Extension in a response batch item is allowed (§4.1.1).',
  'server-dates': 'A literal Initial/Last Change/Activation/Deactivation/Destroy/Compromise/Compromise Occurrence/Archive/Original Creation Date in a response that the client never sent: any Date-Time (§4.1.1 server-set dates).',
  'digest': 'Digest: Digest Value, Hashing Algorithm and Key Format Type are compared by type only (§4.1.1 Digest value and its hashing algorithm; Key Format Type chosen by the server).',
  'generated-key-material': 'Key Value leaves of a server-generated object, or of a wrapped Key Block: same type (and same length for Raw Byte Strings), any value (§4.1.1 server-generated key material and wrapped keys).',
  'key-format-type': 'Get without a Key Format Type: the server may choose another Key Format Type; if it does, the Key Value subtree is not compared (§4.1.1 Key Format Type chosen by the server).',
  'crypto-output': 'Data / Signature Data / MAC Data / IV Counter Nonce / Authenticated Encryption Tag of Encrypt, Sign, MAC (and the Data of Decrypt) when the key was server-generated, the IV server-chosen, or the algorithm randomised (RSA encryption, ECDSA/DSA, PSS): same type, any value (§4.1.1 crypto output).',
  'rng-data': 'RNG Retrieve Data: same type and length, any bytes (§4.1.1 Random Number Generator contents).',
  'rng-attribute':
    "The Random Number Generator attribute (2.1 §4.46) of a generated key: any RNG Parameters structure with an RNG Algorithm. It describes the server's own generator (kmipd: node:crypto, OpenSSL 3 CTR_DRBG), as the key material describes the generated key; the cases show the reference server's ANSI X9.31 (§4.1.1 Random Number Generator contents).",
  'linked-object-id': 'A literal Linked Object Identifier in a response: any text (§4.1.1 Linked Object Identifier).',
  'attribute-order': 'Attributes in Get Attributes / Get Attribute List responses: any order, extra attributes allowed (§4.1.2 Get Attributes order is free; §4.1.1 extra attributes).',
  'query-lists': 'Query: Operation and Object Type lists compared as sets with extras allowed; Vendor Identification, Server Information contents, Application Namespace and Extension Information lists free (§4.1.1).',
  'discover-versions': 'Discover Versions with no versions in the request: extra versions allowed, expected ones in order (§4.1.1).',
  'located-items': 'Locate: a Located Items count the expected response lacks is allowed when the request had no Offset Items (§4.1.1).',
  'pkcs11-library-info':
    "PKCS#11 C_GetInfo output (CK_INFO, 76 bytes): Cryptoki version and flags exact; manufacturerID and libraryDescription any blank-padded printable text, libraryVersion any. They name the library's vendor and its release, as Vendor Identification and Server Information do (the case shows the reference vendor's, masked as \"TEST\") (§4.1.1 Vendor Identification, Server Information contents).",
} as const;

export type RelaxedId = keyof typeof RELAXED;

export interface Mismatch {
  path: string;
  expected: string;
  actual: string;
}

/** State carried through one test-case file. */
export interface FileState {
  /** Placeholder name → the leaf the server sent. */
  bindings: Map<string, LeafItem>;
  /** Unix seconds when the file started. */
  started: number;
  /** Date-Time values the client sent (so a server echo of them is compared exactly). */
  sentDates: Set<number>;
  /** Unique identifiers of objects the server generated (Create, Create Key Pair, Re-key, Derive Key…). */
  generated: Set<string>;
  /** Unique identifier → Cryptographic Algorithm (-1: none given) of objects the client registered. */
  registeredAlgorithm: Map<string, number>;
  /** How often each relaxation was used. */
  relaxedUses: Map<RelaxedId, number>;
}

export function newFileState(started: number): FileState {
  return { bindings: new Map(), started, sentDates: new Set(), generated: new Set(), registeredAlgorithm: new Map(), relaxedUses: new Map() };
}

const SLACK_SECONDS = 5;
const NOW = /^\$NOW([+-]\d+)?$/;

/** The placeholder an expected leaf stands for, if any (text placeholders are plain text). */
export function placeholderOf(leaf: LeafItem): string | undefined {
  if (leaf.placeholder !== undefined) return leaf.placeholder;
  return leaf.type === 'TextString' && isPlaceholder(leaf.value) ? leaf.value : undefined;
}

export function nowOffset(placeholder: string): number | undefined {
  const m = NOW.exec(placeholder);
  return m ? Number(m[1] ?? 0) : undefined;
}

const name = (tag: number): string => registry.tagName(tag);

/** Tags whose values are secret key material: shown from the server only as type and length. */
const SECRET = new Set<number>([
  Tag.KeyMaterial,
  Tag.KeyValue,
  Tag.D,
  Tag.P,
  Tag.Q,
  Tag.PrimeExponentP,
  Tag.PrimeExponentQ,
  Tag.CRTCoefficient,
  Tag.PrivateExponent,
  Tag.X,
  Tag.Password,
  Tag.SplitKeyParts,
]);

/**
 * One item as XML for a mismatch report. `redact`: a value the server sent (never print key
 * material the test case does not itself contain).
 */
export function show(it: Item | undefined, redact = false): string {
  if (!it) return '(nothing)';
  if (it.type === 'Structure') return `<${name(it.tag)}> structure of ${it.value.length}`;
  if (redact && SECRET.has(it.tag) && it.placeholder === undefined) {
    const size = it.type === 'ByteString' ? `${it.value.length} bytes` : it.type === 'BigInteger' ? `${bigIntBytes(it.value)} bytes` : 'value';
    return `<${name(it.tag)} type="${it.type}" value=(${size}, not shown)/>`;
  }
  return toXml(it, { indent: 0 });
}

function bigIntBytes(v: bigint): number {
  return Math.ceil((v < 0n ? -v : v).toString(16).length / 2);
}

const SERVER_DATES = new Set<number>([
  Tag.InitialDate,
  Tag.LastChangeDate,
  Tag.ActivationDate,
  Tag.DeactivationDate,
  Tag.DestroyDate,
  Tag.CompromiseDate,
  Tag.CompromiseOccurrenceDate,
  Tag.ArchiveDate,
  Tag.OriginalCreationDate,
]);
const GENERATING = new Set<number>([
  Enum.Operation.Create,
  Enum.Operation.CreateKeyPair,
  Enum.Operation.ReKey,
  Enum.Operation.ReKeyKeyPair,
  Enum.Operation.DeriveKey,
  Enum.Operation.CreateSplitKey,
  Enum.Operation.JoinSplitKey,
  Enum.Operation.Certify,
  Enum.Operation.ReCertify,
]);
const CRYPTO_OUTPUT = new Set<number>([Tag.Data, Tag.SignatureData, Tag.MACData, Tag.IVCounterNonce, Tag.AuthenticatedEncryptionTag]);
const UID_TAGS = new Set<number>([Tag.UniqueIdentifier, Tag.PrivateKeyUniqueIdentifier, Tag.PublicKeyUniqueIdentifier]);

/** What the comparison of one batch item knows about its request. */
interface ItemScope {
  operation: number;
  request: Item | undefined;
  /** The object the payload is about (its Unique Identifier, as the server sent it). */
  uid: string | undefined;
}

class Comparer {
  readonly mismatches: Mismatch[] = [];

  constructor(readonly state: FileState) {}

  relax(id: RelaxedId): true {
    this.state.relaxedUses.set(id, (this.state.relaxedUses.get(id) ?? 0) + 1);
    return true;
  }

  miss(path: string, expected: Item | undefined | string, actual: Item | undefined | string): false {
    this.mismatches.push({
      path,
      expected: typeof expected === 'string' ? expected : show(expected),
      actual: typeof actual === 'string' ? actual : show(actual, true),
    });
    return false;
  }

  message(expected: Item, actual: Item, request: Item): boolean {
    if (expected.tag !== actual.tag || actual.type !== 'Structure' || expected.type !== 'Structure') return this.miss('', expected, actual);
    const path = name(expected.tag);
    const reqItems = request.type === 'Structure' ? request.value.filter((c) => c.tag === Tag.BatchItem) : [];
    const expItems = expected.value.filter((c) => c.tag === Tag.BatchItem);
    const actItems = actual.value.filter((c) => c.tag === Tag.BatchItem);
    let ok = this.header(child(expected, Tag.ResponseHeader), child(actual, Tag.ResponseHeader), `${path}/ResponseHeader`);
    if (expected.value.length !== expItems.length + 1 || actual.value.length !== actItems.length + 1) {
      ok = this.miss(`${path}`, `${expected.value.length} children (header and batch items)`, `${actual.value.length} children`);
    }
    if (expItems.length !== actItems.length) return this.miss(`${path}/BatchItem`, `${expItems.length} batch items`, `${actItems.length} batch items`);
    for (const [i, e] of expItems.entries()) {
      const a = actItems[i]!;
      const operation = child(e, Tag.Operation);
      const scope: ItemScope = {
        operation: operation?.type === 'Enumeration' ? operation.value : -1,
        request: reqItems.length === expItems.length ? reqItems[i] : reqItems.length === 1 ? reqItems[0] : undefined,
        uid: undefined,
      };
      ok = this.batchItem(e, a, `${path}/BatchItem[${i}]`, scope) && ok;
      this.learn(a, scope);
    }
    return ok;
  }

  private header(e: Item | undefined, a: Item | undefined, path: string): boolean {
    if (!e || !a || e.type !== 'Structure' || a.type !== 'Structure') return this.miss(path, e, a);
    const optional = (it: Item): boolean => (it.tag === Tag.ClientCorrelationValue || it.tag === Tag.ServerCorrelationValue) && this.relax('correlation-values');
    return this.ordered(e.value, a.value, path, { optional, extra: optional }, (ec, ac, p) => {
      if (ec.tag === Tag.TimeStamp && ec.type === 'DateTime' && ac.type === 'DateTime' && ec.placeholder === undefined) return this.relax('time-stamp');
      if ((ec.tag === Tag.ClientCorrelationValue || ec.tag === Tag.ServerCorrelationValue) && ec.type === ac.type) return this.relax('correlation-values');
      return this.item(ec, ac, p, undefined);
    });
  }

  private batchItem(e: Item, a: Item, path: string, scope: ItemScope): boolean {
    if (e.type !== 'Structure' || a.type !== 'Structure') return this.miss(path, e, a);
    const optional = (it: Item): boolean => it.tag === Tag.ResultMessage && this.relax('result-message');
    const extra = (it: Item): boolean =>
      (it.tag === Tag.ResultMessage && this.relax('result-message')) ||
      (it.tag === Tag.MessageExtension && !criticalExtension(it) && this.relax('message-extension'));
    return this.ordered(e.value, a.value, path, { optional, extra }, (ec, ac, p) => {
      if ((ec.tag === Tag.UniqueBatchItemID || ec.tag === Tag.AsynchronousCorrelationValue) && ec.type === ac.type) return this.relax('batch-item-id');
      if (ec.tag === Tag.ResultMessage && ac.type === 'TextString') return this.relax('result-message');
      if (ec.tag === Tag.ResponsePayload) return this.payload(ec, ac, p, scope);
      if (ec.tag === Tag.ResultStatus && !sameValue(ec as LeafItem, ac as LeafItem)) return this.miss(p, ec, `${show(ac)} ${failureOf(a.value)}`);
      return this.item(ec, ac, p, scope);
    });
  }

  private payload(e: Item, a: Item, path: string, scope: ItemScope): boolean {
    if (e.type !== 'Structure' || a.type !== 'Structure') return this.item(e, a, path, scope);
    const uidItem = a.value.find((c) => c.tag === Tag.UniqueIdentifier);
    if (uidItem?.type === 'TextString') scope.uid = uidItem.value;
    const req = scope.request ? child(scope.request, Tag.RequestPayload) : undefined;
    const op = scope.operation;
    if (op === Enum.Operation.Query) return this.query(e.value, a.value, path, scope);
    if (op === Enum.Operation.DiscoverVersions && req?.type === 'Structure' && !req.value.some((c) => c.tag === Tag.ProtocolVersion)) {
      return this.subsequence(e.value, a.value, path, scope, 'discover-versions');
    }
    if (op === Enum.Operation.GetAttributeList) return this.unordered(e.value, a.value, path, scope);
    if (op === Enum.Operation.GetAttributes) {
      // 1.x: Unique Identifier then Attribute*; 2.x: Unique Identifier then Attributes.
      const eAttrs = e.value.filter((c) => c.tag === Tag.Attribute);
      const aAttrs = a.value.filter((c) => c.tag === Tag.Attribute);
      const eRest = e.value.filter((c) => c.tag !== Tag.Attribute);
      const aRest = a.value.filter((c) => c.tag !== Tag.Attribute);
      const ok = this.ordered(eRest, aRest, path, {}, (ec, ac, p) =>
        ec.tag === Tag.Attributes && ec.type === 'Structure' && ac.type === 'Structure' ? this.unordered(ec.value, ac.value, p, scope) : this.item(ec, ac, p, scope),
      );
      return this.unordered(eAttrs, aAttrs, path, scope) && ok;
    }
    const pkcs11Function = op === Enum.Operation.PKCS_11 && req ? child(req, Tag.PKCS_11Function) : undefined;
    const getInfo = pkcs11Function?.type === 'Enumeration' && pkcs11Function.value === Enum.PKCS_11Function.C_GetInfo;
    const extra = (it: Item): boolean =>
      op === Enum.Operation.Locate && it.tag === Tag.LocatedItems && !(req?.type === 'Structure' && req.value.some((c) => c.tag === Tag.OffsetItems)) && this.relax('located-items');
    return this.ordered(e.value, a.value, path, { extra }, (ec, ac, p) =>
      getInfo && ec.tag === Tag.PKCS_11OutputParameters ? this.libraryInfo(ec, ac, p) : this.item(ec, ac, p, scope),
    );
  }

  /** CK_INFO: cryptokiVersion (2) ‖ manufacturerID (32) ‖ flags (8) ‖ libraryDescription (32) ‖ libraryVersion (2). */
  private libraryInfo(e: Item, a: Item, path: string): boolean {
    if (e.type !== 'ByteString' || a.type !== 'ByteString' || e.placeholder !== undefined) return this.item(e, a, path, undefined);
    const eb = Buffer.from(e.value);
    const ab = Buffer.from(a.value);
    const text = (b: Buffer): boolean => /^[\x20-\x7e]*$/.test(b.toString('latin1'));
    const fixed = (b: Buffer): Buffer => Buffer.concat([b.subarray(0, 2), b.subarray(34, 42)]);
    if (eb.length !== 76 || ab.length !== 76 || !fixed(eb).equals(fixed(ab)) || !text(ab.subarray(2, 34)) || !text(ab.subarray(42, 74))) {
      return this.miss(path, e, `${show(a)} (CK_INFO differs in length, Cryptoki version or flags, or has non-printable text)`);
    }
    return eb.equals(ab) || this.relax('pkcs11-library-info');
  }

  private query(e: Item[], a: Item[], path: string, scope: ItemScope): boolean {
    const free = (it: Item): boolean => (it.tag === Tag.ApplicationNamespace || it.tag === Tag.ExtensionInformation) && this.relax('query-lists');
    const setTags: number[] = [Tag.Operation, Tag.ObjectType];
    let ok = true;
    for (const tag of setTags) {
      const have = new Set(a.filter((c) => c.tag === tag).map((c) => (c.type === 'Enumeration' ? c.value : -1)));
      for (const ec of e.filter((c) => c.tag === tag)) {
        if (ec.type !== 'Enumeration' || !have.has(ec.value)) ok = this.miss(`${path}/${name(tag)}`, ec, `not in the server's list`);
      }
      if (e.some((c) => c.tag === tag)) this.relax('query-lists');
    }
    const rest = (items: Item[]): Item[] => items.filter((c) => !setTags.includes(c.tag));
    return (
      this.ordered(rest(e), rest(a), path, { optional: free, extra: free }, (ec, ac, p) => {
        if ((ec.tag === Tag.VendorIdentification || ec.tag === Tag.ServerInformation) && ec.type === ac.type) return this.relax('query-lists');
        return this.item(ec, ac, p, scope);
      }) && ok
    );
  }

  /** Expected children in order, each equal to a later actual child; extra actual children allowed. */
  private subsequence(e: Item[], a: Item[], path: string, scope: ItemScope, id: RelaxedId): boolean {
    let j = 0;
    for (const [i, ec] of e.entries()) {
      const p = `${path}/${name(ec.tag)}[${i}]`;
      let found = false;
      while (j < a.length && !found) {
        const ac = a[j++]!;
        found = this.trial(() => this.item(ec, ac, p, scope));
      }
      if (!found) return this.miss(p, ec, 'not in the response (in order)');
    }
    if (a.length > e.length) this.relax(id);
    return true;
  }

  /** Each expected child matches a distinct actual child, in any order; extra actual children allowed. */
  private unordered(e: Item[], a: Item[], path: string, scope: ItemScope): boolean {
    const used = new Set<number>();
    let ok = true;
    for (const ec of e) {
      const p = `${path}/${label(ec)}`;
      const candidates = a.map((ac, j) => ({ ac, j })).filter(({ ac, j }) => !used.has(j) && ac.tag === ec.tag && sameAttributeName(ec, ac));
      const hit = candidates.find(({ ac }) => this.trial(() => this.item(ec, ac, p, scope)));
      if (hit) {
        used.add(hit.j);
        continue;
      }
      ok = false;
      // Report against the one candidate (or the first structure) of that tag, or as missing.
      if (candidates[0] && (candidates.length === 1 || ec.type === 'Structure')) this.item(ec, candidates[0].ac, p, scope);
      else this.miss(p, ec, candidates[0] ? `none of the ${candidates.length} ${name(ec.tag)} items is equal` : 'no such attribute in the response');
    }
    if (used.size < a.length || e.length > 1) this.relax('attribute-order');
    return ok;
  }

  /** Runs a comparison; on failure its mismatches and bindings are rolled back. */
  private trial(fn: () => boolean): boolean {
    const marks = this.mismatches.length;
    const bindings = new Map(this.state.bindings);
    const uses = new Map(this.state.relaxedUses);
    const ok = fn() && this.mismatches.length === marks;
    if (!ok) {
      this.mismatches.length = marks;
      this.state.bindings = bindings;
      this.state.relaxedUses = uses;
    }
    return ok;
  }

  private ordered(
    e: Item[],
    a: Item[],
    path: string,
    rules: { optional?: (it: Item) => boolean; extra?: (it: Item) => boolean },
    compare: (e: Item, a: Item, path: string) => boolean,
  ): boolean {
    let i = 0;
    let j = 0;
    let ok = true;
    const seen = new Map<number, number>();
    while (i < e.length || j < a.length) {
      const ec = e[i];
      const ac = a[j];
      if (ec && ac && ec.tag === ac.tag) {
        const n = seen.get(ec.tag) ?? 0;
        seen.set(ec.tag, n + 1);
        ok = compare(ec, ac, `${path}/${name(ec.tag)}${n > 0 || e.filter((x) => x.tag === ec.tag).length > 1 ? `[${n}]` : ''}`) && ok;
        i++;
        j++;
      } else if (ac && rules.extra?.(ac)) j++;
      else if (ec && rules.optional?.(ec)) i++;
      else return this.miss(`${path}/${ec ? name(ec.tag) : ac ? name(ac.tag) : ''}`, ec, ac);
    }
    return ok;
  }

  private item(e: Item, a: Item, path: string, scope: ItemScope | undefined): boolean {
    if (e.tag !== a.tag || e.type !== a.type) return this.miss(path, e, a);
    if (e.type === 'Structure') {
      const av = (a as Extract<Item, { type: 'Structure' }>).value;
      if (e.tag === Tag.RandomNumberGenerator) {
        const algorithm = av.find((c) => c.tag === Tag.RNGAlgorithm);
        return algorithm?.type === 'Enumeration' ? this.relax('rng-attribute') : this.miss(`${path}/RNGAlgorithm`, 'an RNG Algorithm', algorithm);
      }
      if (e.tag === Tag.Digest && scope) return this.digest(e.value, av, path);
      if (e.tag === Tag.KeyBlock && scope) return this.keyBlock(e.value, av, path, scope);
      if (e.tag === Tag.Attribute) return this.v1Attribute(e.value, av, path, scope);
      return this.ordered(e.value, av, path, {}, (ec, ac, p) => this.item(ec, ac, p, scope));
    }
    return this.leaf(e, a as LeafItem, path, scope);
  }

  private leaf(e: LeafItem, a: LeafItem, path: string, scope: ItemScope | undefined): boolean {
    const ph = placeholderOf(e);
    if (ph !== undefined) return this.placeholder(ph, e, a, path);
    if (SERVER_DATES.has(e.tag) && e.type === 'DateTime' && !this.state.sentDates.has(e.value)) return this.relax('server-dates');
    if (e.tag === Tag.LinkedObjectIdentifier) return this.relax('linked-object-id');
    if (scope && CRYPTO_OUTPUT.has(e.tag) && this.randomisedOutput(scope)) return this.relax('crypto-output');
    if (scope?.operation === Enum.Operation.RNGRetrieve && e.tag === Tag.Data && e.type === 'ByteString' && a.type === 'ByteString') {
      return e.value.length === a.value.length ? this.relax('rng-data') : this.miss(path, `${e.value.length} random bytes`, `${a.value.length} bytes`);
    }
    return sameValue(e, a) || this.miss(path, e, a);
  }

  private placeholder(ph: string, e: LeafItem, a: LeafItem, path: string): boolean {
    const offset = nowOffset(ph);
    if (offset !== undefined) {
      if (a.type !== 'DateTime') return this.miss(path, ph, a);
      const low = this.state.started + offset - SLACK_SECONDS;
      const high = Math.floor(Date.now() / 1000) + offset + SLACK_SECONDS;
      if (a.value < low || a.value > high) return this.miss(path, `${ph} (between ${iso(low)} and ${iso(high)})`, a);
      return this.relax('now-window');
    }
    const bound = this.state.bindings.get(ph);
    if (!bound) {
      // $UNIQUE_IDENTIFIER_0 and $UNIQUE_IDENTIFIER_1 are two objects: one value cannot be both.
      const family = ph.replace(/_?\d+$/, '');
      for (const [other, value] of this.state.bindings) {
        if (other.replace(/_?\d+$/, '') === family && sameValue(value, a)) return this.miss(path, `${ph} (a value not bound to ${other})`, a);
      }
      this.state.bindings.set(ph, a);
      return this.relax('bind-on-first-sight');
    }
    return sameValue(bound, a) || this.miss(path, `${ph} = ${show({ ...bound, tag: e.tag } as LeafItem, true)}`, a);
  }

  /**
   * A 1.x Attribute: its Attribute Value is compared as the attribute it names (a Digest, an
   * Initial Date…), so the rules for that attribute apply in 1.x and 2.x alike.
   */
  private v1Attribute(e: Item[], a: Item[], path: string, scope: ItemScope | undefined): boolean {
    const named = registry.siblingContext();
    return this.ordered(e, a, path, {}, (ec, ac, p) => {
      const tag = named(ec.tag, ec.type === 'TextString' ? ec.value : undefined);
      if (ec.tag === Tag.AttributeValue && tag !== ec.tag) return this.item({ ...ec, tag } as Item, { ...ac, tag } as Item, p, scope);
      return this.item(ec, ac, p, scope);
    });
  }

  private digest(e: Item[], a: Item[], path: string): boolean {
    return this.ordered(e, a, path, {}, (ec, ac, p) => {
      if ((ec.tag === Tag.DigestValue || ec.tag === Tag.HashingAlgorithm || ec.tag === Tag.KeyFormatType) && ec.type === ac.type) return this.relax('digest');
      return this.item(ec, ac, p, undefined);
    });
  }

  private keyBlock(e: Item[], a: Item[], path: string, scope: ItemScope): boolean {
    const eFormat = e.find((c) => c.tag === Tag.KeyFormatType);
    const aFormat = a.find((c) => c.tag === Tag.KeyFormatType);
    const req = scope.request ? child(scope.request, Tag.RequestPayload) : undefined;
    const formatFixed = req?.type === 'Structure' && req.value.some((c) => c.tag === Tag.KeyFormatType);
    const formatChosen = !formatFixed && eFormat && aFormat && !sameValue(eFormat as LeafItem, aFormat as LeafItem);
    const wrapped = e.some((c) => c.tag === Tag.KeyWrappingData);
    const generated = (scope.uid !== undefined && this.state.generated.has(scope.uid)) || wrapped;
    const raw = eFormat?.type === 'Enumeration' && eFormat.value === Enum.KeyFormatType.Raw;
    return this.ordered(e, a, path, {}, (ec, ac, p) => {
      if (formatChosen && (ec.tag === Tag.KeyFormatType || ec.tag === Tag.KeyValue) && ec.type === ac.type) return this.relax('key-format-type');
      if (ec.tag === Tag.KeyValue && generated) return this.looseKeyValue(ec, ac, p, raw);
      return this.item(ec, ac, p, scope);
    });
  }

  /** Same shape and types; values free (placeholders still bind). */
  private looseKeyValue(e: Item, a: Item, path: string, raw: boolean): boolean {
    if (e.tag !== a.tag || e.type !== a.type) return this.miss(path, e, a);
    if (e.type === 'Structure') {
      const av = (a as Extract<Item, { type: 'Structure' }>).value;
      return this.ordered(e.value, av, path, {}, (ec, ac, p) => (ec.tag === Tag.Attribute || ec.tag === Tag.Attributes ? this.item(ec, ac, p, undefined) : this.looseKeyValue(ec, ac, p, raw)));
    }
    const ph = placeholderOf(e);
    if (ph !== undefined) return this.placeholder(ph, e, a as LeafItem, path);
    if (raw && e.type === 'ByteString' && a.type === 'ByteString' && e.value.length !== a.value.length) {
      return this.miss(path, `${e.value.length} bytes of key material`, `${a.value.length} bytes`);
    }
    return this.relax('generated-key-material');
  }

  /** KMIP Profiles 2.1 §4.1.1: crypto output varies when the key was server-generated or the operation is randomised. */
  private randomisedOutput(scope: ItemScope): boolean {
    const op = scope.operation;
    if (op !== Enum.Operation.Encrypt && op !== Enum.Operation.Decrypt && op !== Enum.Operation.Sign && op !== Enum.Operation.MAC) return false;
    const req = scope.request ? child(scope.request, Tag.RequestPayload) : undefined;
    const keyUid = req ? child(req, Tag.UniqueIdentifier) : undefined;
    const uid = keyUid?.type === 'TextString' ? keyUid.value : scope.uid;
    if (uid === undefined || !this.state.registeredAlgorithm.has(uid)) return true;
    // Decrypt of a fixed ciphertext gives the file's plaintext only under the key the file's server generated.
    if (op === Enum.Operation.Decrypt) return false;
    const params = req ? child(req, Tag.CryptographicParameters) : undefined;
    const algorithm = leafEnum(params, Tag.CryptographicAlgorithm) ?? this.state.registeredAlgorithm.get(uid);
    const padding = leafEnum(params, Tag.PaddingMethod);
    const signature = leafEnum(params, Tag.DigitalSignatureAlgorithm);
    const A = Enum.CryptographicAlgorithm;
    if (op === Enum.Operation.Encrypt) {
      if (algorithm === A.RSA && padding !== Enum.PaddingMethod.None) return true;
      return !(req?.type === 'Structure' && req.value.some((c) => c.tag === Tag.IVCounterNonce)) && (algorithm === A.AES || algorithm === A.ChaCha20 || algorithm === A.ChaCha20Poly1305 || algorithm === A.DES3);
    }
    if (op === Enum.Operation.Sign) {
      if (algorithm === A.ECDSA || algorithm === A.DSA || algorithm === A.EC || padding === Enum.PaddingMethod.PSS) return true;
      const sigName = signature === undefined ? '' : (Object.entries(Enum.DigitalSignatureAlgorithm).find(([, v]) => v === signature)?.[0] ?? '');
      return /ECDSA|DSA|PSS/i.test(sigName);
    }
    return false;
  }

  /** Records which objects the server generated and which the client registered. */
  private learn(actual: Item, scope: ItemScope): void {
    const payload = child(actual, Tag.ResponsePayload);
    if (payload?.type !== 'Structure') return;
    const uids = payload.value.filter((c): c is Extract<Item, { type: 'TextString' }> => UID_TAGS.has(c.tag) && c.type === 'TextString').map((c) => c.value);
    if (GENERATING.has(scope.operation)) for (const uid of uids) this.state.generated.add(uid);
    if (scope.operation === Enum.Operation.Register && scope.request) {
      const algorithm = findEnum(scope.request, Tag.CryptographicAlgorithm);
      for (const uid of uids) this.state.registeredAlgorithm.set(uid, algorithm ?? -1);
    }
  }
}

/** Compares one response message; returns the mismatches (empty: equal under the rules). */
export function compareResponse(expected: Item, actual: Item, request: Item, state: FileState): Mismatch[] {
  const comparer = new Comparer(state);
  comparer.message(expected, actual, request);
  return comparer.mismatches;
}

function child(it: Item, tag: number): Item | undefined {
  return it.type === 'Structure' ? it.value.find((c) => c.tag === tag) : undefined;
}

function leafEnum(it: Item | undefined, tag: number): number | undefined {
  const c = it ? child(it, tag) : undefined;
  return c?.type === 'Enumeration' ? c.value : undefined;
}

function findEnum(it: Item, tag: number): number | undefined {
  if (it.tag === tag && it.type === 'Enumeration') return it.value;
  if (it.type !== 'Structure') return undefined;
  for (const c of it.value) {
    const found = findEnum(c, tag);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** "(Result Reason X: message)" of a failed actual batch item, to say why a Success was not. */
function failureOf(items: Item[]): string {
  const reason = items.find((c) => c.tag === Tag.ResultReason);
  const message = items.find((c) => c.tag === Tag.ResultMessage);
  const reasonName = reason ? (/value="([^"]*)"/.exec(show(reason))?.[1] ?? '?') : 'no Result Reason';
  return `(${reasonName}${message?.type === 'TextString' ? `: ${message.value}` : ''})`;
}

function criticalExtension(it: Item): boolean {
  const c = child(it, Tag.CriticalityIndicator);
  return c?.type === 'Boolean' && c.value;
}

/** 1.x Attribute structures pair up by Attribute Name (and Index); others by tag alone. */
function sameAttributeName(e: Item, a: Item): boolean {
  if (e.tag !== Tag.Attribute) return true;
  const en = child(e, Tag.AttributeName);
  const an = child(a, Tag.AttributeName);
  return en?.type === 'TextString' && an?.type === 'TextString' && en.value === an.value;
}

function label(it: Item): string {
  const n = it.tag === Tag.Attribute ? child(it, Tag.AttributeName) : undefined;
  return n?.type === 'TextString' ? `Attribute(${n.value})` : name(it.tag);
}

function sameValue(e: LeafItem, a: LeafItem): boolean {
  if (e.type !== a.type) return false;
  if (e.value instanceof Uint8Array && a.value instanceof Uint8Array) return Buffer.from(e.value).equals(Buffer.from(a.value));
  return e.value === a.value;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
