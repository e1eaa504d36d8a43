/**
 * The Certificate Attributes of KMIP 2.1 §4.6 (Certificate Subject CN, O, OU, Email, C, ST, L, UID,
 * Serial Number, Title, DC, DN Qualifier, and the same for the Issuer), read from an X.509 Name
 * (RFC 5280 §4.1.2.4: Name ::= SEQUENCE OF RelativeDistinguishedName, each a SET OF
 * AttributeTypeAndValue { type OID, value DirectoryString }). The server sets them at Register
 * (§4.6: "Initially set by: Server"); OASIS BL-M-10-21 reads Certificate Subject CN back.
 *
 * One attribute instance per AttributeTypeAndValue, in the order of the certificate; attribute
 * types §4.6 does not list, and values that are not strings, are left out.
 */
import { type Item, item } from '../ttlv/index.js';
import { Tag } from '../kmip/registry.generated.js';
import { type Tlv, children } from '../objects/key-formats.js';

/** Attribute type OIDs (DER content, hex) → the field name of §4.6. */
const FIELDS: Readonly<Record<string, string>> = {
  '550403': 'CN', // id-at-commonName 2.5.4.3
  '55040a': 'O', // id-at-organizationName 2.5.4.10
  '55040b': 'OU', // id-at-organizationalUnitName 2.5.4.11
  '2a864886f70d010901': 'Email', // pkcs-9 emailAddress 1.2.840.113549.1.9.1
  '550406': 'C', // id-at-countryName 2.5.4.6
  '550408': 'ST', // id-at-stateOrProvinceName 2.5.4.8
  '550407': 'L', // id-at-localityName 2.5.4.7
  '0992268993f22c640101': 'UID', // userId 0.9.2342.19200300.100.1.1
  '550405': 'SerialNumber', // id-at-serialNumber 2.5.4.5
  '55040c': 'Title', // id-at-title 2.5.4.12
  '0992268993f22c640119': 'DC', // domainComponent 0.9.2342.19200300.100.1.25
  '55042e': 'DNQualifier', // id-at-dnQualifier 2.5.4.46
};

/** A DirectoryString (or IA5String) value as text; undefined for other types. */
function text(der: Uint8Array, value: Tlv): string | undefined {
  const bytes = Buffer.from(der.subarray(value.start, value.end));
  switch (value.tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return bytes.toString('ascii');
    case 0x14: // TeletexString, read as Latin-1 as most software does
      return bytes.toString('latin1');
    case 0x1e: // BMPString: UCS-2 big-endian
      return bytes.length % 2 === 0 ? Buffer.from(bytes).swap16().toString('utf16le') : undefined;
    case 0x1c: {
      // UniversalString: UCS-4 big-endian
      if (bytes.length % 4 !== 0) return undefined;
      const points: number[] = [];
      for (let i = 0; i < bytes.length; i += 4) points.push(bytes.readUInt32BE(i));
      try {
        return String.fromCodePoint(...points);
      } catch {
        return undefined;
      }
    }
    default:
      return undefined;
  }
}

/** Certificate Subject * or Certificate Issuer * attributes from the Name at `name` in `der`. */
export function nameAttributes(der: Uint8Array, name: Tlv, who: 'Subject' | 'Issuer'): Item[] {
  const out: Item[] = [];
  for (const rdn of children(der, name)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (type?.tag !== 0x06 || value === undefined) continue;
      const field = FIELDS[Buffer.from(der.subarray(type.start, type.end)).toString('hex')];
      const tag = field === undefined ? undefined : (Tag as Readonly<Record<string, number>>)[`Certificate${who}${field}`];
      const s = text(der, value);
      if (tag !== undefined && s !== undefined) out.push(item(tag, 'TextString', s));
    }
  }
  return out;
}
