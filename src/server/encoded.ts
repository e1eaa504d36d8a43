/**
 * The binary form of a response, encoded once. The processor must encode a response anyway (to
 * prove every payload encodable and to apply the Maximum Response Size); it records the bytes
 * here and the binary transports take them instead of encoding the same tree again.
 */
import { type Item, encode } from '../ttlv/index.js';

const encoded = new WeakMap<Item, Buffer>();

export function rememberEncoding(message: Item, bytes: Buffer): void {
  encoded.set(message, bytes);
}

/** The message's TTLV bytes: the ones recorded for it, else a fresh encoding. */
export function encodeMessage(message: Item): Buffer {
  return encoded.get(message) ?? encode(message);
}
