/** The one error type the codec throws. `offset` is the byte (binary) or character (text) position. */
export type TtlvErrorCode =
  | 'UNKNOWN_TYPE' // item type byte outside 0x01–0x0B
  | 'OVERRUN' // an item's length runs past its parent or the buffer
  | 'TRUNCATED' // fewer bytes than an item header needs
  | 'BAD_LENGTH' // wrong fixed length for the type, or a structure/Big Integer not a multiple of 8
  | 'BAD_PADDING' // non-zero padding bytes
  | 'BAD_UTF8' // a Text String that is not valid UTF-8
  | 'BAD_BOOLEAN' // a Boolean other than 0 or 1
  | 'TOO_DEEP' // nesting deeper than the limit
  | 'TRAILING' // bytes after the top-level item
  | 'TOO_LARGE' // a message larger than the configured maximum
  | 'OUT_OF_RANGE' // a value that does not fit its type
  | 'UNRESOLVED_PLACEHOLDER' // a symbolic value ($NOW…) reached the binary encoder
  | 'SYNTAX' // malformed JSON or XML text
  | 'UNKNOWN_NAME' // a tag, type or enumeration name not in the registry
  | 'BAD_VALUE'; // a JSON/XML value that does not parse as its type

export class TtlvError extends Error {
  readonly code: TtlvErrorCode;
  readonly offset: number;

  constructor(code: TtlvErrorCode, message: string, offset: number) {
    super(`${message} (at offset ${offset})`);
    this.name = 'TtlvError';
    this.code = code;
    this.offset = offset;
  }
}
