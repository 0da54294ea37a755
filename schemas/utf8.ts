/**
 * Avro strings read as strict UTF-8.
 *
 * avsc reads a string with `Buffer#utf8Slice`, which replaces every byte
 * sequence that is not UTF-8 with U+FFFD: `edge-\xff` and `edge-\xfe` both
 * came back as `edge-\uFFFD`, two servers merged into one key, and the bytes
 * were kept nowhere (a trial). The Avro specification encodes a string as
 * "a long followed by that many bytes of UTF-8 encoded character data", so
 * such bytes are not a string: the record is undecodable and becomes a dead
 * letter with its raw bytes, as the JSON path already did (a fatal decoder).
 *
 * Source: Avro 1.11 specification, "Binary Encoding" (string); avsc 5.7
 * lib/utils.js `Tap#readString` and lib/types.js `MapType#_read`, whose
 * behaviour is kept apart from the check.
 */
import { isUtf8 } from 'node:buffer';
import avro from 'avsc';

/** The part of avsc's (internal) Tap that a string read uses. */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  _invalidate(): void;
}

/** Bytes of a bad string quoted in the error, at most. */
const QUOTED_BYTES = 32;

/**
 * Read one Avro string (a length, then that many bytes) from `tap`, refusing bytes that are not UTF-8.
 * @returns The string; undefined when the bytes run past the buffer's end (avsc's truncation signal:
 *          its `decode` then reports a negative offset), '' after a negative length (the tap is invalidated).
 * @throws {RangeError} naming the string's length and its first bytes (hex) when they are not UTF-8;
 *         the codec reports it as an undecodable body (schemas/codec.ts `decodeBody`).
 */
export function readUtf8String(tap: Tap): string | undefined {
  const len = tap.readLong();
  if (len < 0) {
    tap._invalidate();
    return '';
  }
  const start = tap.pos;
  tap.pos += len;
  if (tap.pos > tap.buf.length) return undefined;
  const bytes = tap.buf.subarray(start, start + len);
  if (!isUtf8(bytes)) {
    const hex = bytes.subarray(0, QUOTED_BYTES).toString('hex') + (len > QUOTED_BYTES ? '...' : '');
    throw new RangeError(`string of ${len} bytes at byte ${start} is not utf-8 (hex ${hex}); avro strings are utf-8 text`);
  }
  return bytes.toString('utf8');
}

/**
 * Offset of the first byte of `bytes` (from `from`) that does not begin or continue a well-formed UTF-8 sequence, or
 * -1 when all of them do. A sequence cut by the end of the buffer is ill-formed at its first byte.
 * Source: The Unicode Standard 15.0, §3.9, Table 3-7 "Well-Formed UTF-8 Byte Sequences" (no overlong forms, no
 * surrogates D800–DFFF, nothing above U+10FFFF).
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  let i = from;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Length of the sequence and the range of its second byte (Table 3-7); the rest are 80..BF.
    const [n, lo, hi] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
      : b === 0xe0 ? [3, 0xa0, 0xbf] : (b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef ? [3, 0x80, 0xbf] : b === 0xed ? [3, 0x80, 0x9f]
        : b === 0xf0 ? [4, 0x90, 0xbf] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (n === 0 || i + n > bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k < n; k++) if (bytes[i + k]! < 0x80 || bytes[i + k]! > 0xbf) return i;
    i += n;
  }
  return -1;
}

/** avsc's string and map types as classes (their typings do not expose the internal read method). */
type StringBase = new () => { _read(tap: Tap): unknown };
type MapBase = new (schema: unknown, opts: unknown) => { valuesType: { _read(tap: Tap): unknown }; _read(tap: Tap): unknown };

// avsc freezes its primitive types, so the strict read is a subclass's method, not a patched property.
class Utf8StringType extends (avro.types.StringType as unknown as StringBase) {
  override _read(tap: Tap): string | undefined {
    return readUtf8String(tap);
  }
}

/**
 * The `string` of every edgelat schema: avsc's, reading only UTF-8 ({@link readUtf8String}). A writer's
 * `string` or `bytes` resolved to it is read the same way (avsc's resolver takes the reader's read).
 */
export const utf8StringType = new Utf8StringType() as unknown as avro.Type;

/**
 * A map type whose keys are read as strict UTF-8 ({@link readUtf8String}) and kept as own properties
 * (avsc's `val[key] = …` turned a key `__proto__` into the map's prototype, and dropped it).
 * @param schema  The map's schema object (`{type: 'map', values: …}`), as avsc's type hook hands it over.
 * @param opts    avsc's options of the enclosing `forSchema` call (registry, type hook), for the values.
 */
export class Utf8KeyMapType extends (avro.types.MapType as unknown as MapBase) {
  constructor(schema: unknown, opts: unknown) {
    super(schema, opts);
  }

  override _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType;
    const val: Record<string, unknown> = {};
    for (;;) {
      // Avro block encoding: a count, negative when a block's byte size follows it; 0 ends the map.
      let n = tap.readLong();
      if (n === 0) return val;
      if (n < 0) {
        n = -n;
        tap.skipLong();
      }
      while (n-- > 0) {
        // Past the buffer's end (a truncated body) every read yields nothing: stop, decode reports the truncation.
        if (tap.pos > tap.buf.length) return val;
        const key = readUtf8String(tap);
        Object.defineProperty(val, key ?? '', { value: values._read(tap), enumerable: true, writable: true, configurable: true });
      }
    }
  }
}
