/**
 * kmipd's TTLV codec: binary TTLV, the KMIP JSON and XML encodings, and a socket frame reader.
 * It depends on nothing else in kmipd; the registry in schemas/ is its only input.
 */
export * from './types.js';
export { TtlvError, type TtlvErrorCode } from './errors.js';
export { decode, encode, bigIntegerBytes, HEADER_LENGTH, DEFAULT_MAX_DEPTH, type DecodeOptions } from './binary.js';
export { FrameReader, FrameError, DEFAULT_MAX_MESSAGE_SIZE, type FrameReaderOptions } from './frame.js';
export { Registry, registry, ValueSet, hexTag, hex32, type TagInfo, type RegistryData } from './registry.js';
export { toJson, toJsonText, fromJson, fromJsonText, type JsonItem } from './json.js';
export { toXml, fromXml, fromXmlDocument, type XmlOptions } from './xml.js';
export { toText } from './text.js';
export { isPlaceholder } from './values.js';
export { resolvePlaceholders, mapItems } from './walk.js';
