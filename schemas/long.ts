/**
 * An Avro `long` that never loses precision (case C10, mtth/avsc#455).
 *
 * avsc's default long maps to a JS double: it throws "potential precision
 * loss" above 2^53 (stalling a consumer) and, because zig-zag doubles the
 * magnitude, silently decodes some *safe* negatives wrongly (−(2^52+1) came
 * back as +2^52). This type reads the zig-zag varint itself, with BigInt
 * whenever the varint is too long for exact double arithmetic, and returns a
 * `number` when the value is a safe integer and a `bigint` otherwise.
 *
 * Source: Avro 1.11 specification, "Binary Encoding" (zig-zag varints), and
 * the avsc README, "custom long types" (`LongType.__with`).
 */
import avro from 'avsc';

/** A decoded Avro long: a `number` when it is a safe integer, else a `bigint` (int64 range). */
export type AvroLong = number | bigint;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Longest varint whose value fits a double exactly: 7 bytes carry 49 bits. */
const FAST_VARINT_BYTES = 7;
/** An int64 zig-zag varint is at most 10 bytes. */
const MAX_VARINT_BYTES = 10;
/** Below this magnitude 2|v|+1 < 2^53, so zig-zag encoding with doubles is exact. */
const FAST_ENCODE_LIMIT = 2 ** 52;

/**
 * Return `value` as a `number` when it is a safe integer, else unchanged.
 *
 * @param value  Any int64 value as a bigint.
 * @returns      `number` for |value| <= 2^53 − 1, otherwise the same `bigint`.
 */
export function normalizeLong(value: bigint): AvroLong {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/**
 * Tell whether `value` is a valid Avro long for this codec.
 *
 * @param value  Candidate value.
 * @returns      True for a safe-integer `number` or a `bigint` in the int64 range.
 */
export function isAvroLong(value: unknown): value is AvroLong {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX;
  return false;
}

/**
 * Decode one zig-zag varint (the raw bytes of one Avro long, nothing more).
 *
 * @param bytes  The varint bytes, as delimited by avsc (last byte has bit 7 clear).
 * @returns      The exact value: `number` when safe, else `bigint`.
 * @throws {RangeError} if the varint is empty, longer than 10 bytes, unterminated,
 *         or above 64 bits (avsc turns the throw into a decode failure we catch).
 */
export function readZigZagVarint(bytes: Uint8Array): AvroLong {
  const len = bytes.length;
  if (len === 0 || len > MAX_VARINT_BYTES || (bytes[len - 1]! & 0x80) !== 0) {
    throw new RangeError(`invalid long varint of ${len} bytes`);
  }
  if (len <= FAST_VARINT_BYTES) {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < len; i++) {
      z += (bytes[i]! & 0x7f) * scale;
      scale *= 128;
    }
    // z < 2^49: every step is exact in a double.
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  let z = 0n;
  for (let i = len - 1; i >= 0; i--) z = (z << 7n) | BigInt(bytes[i]! & 0x7f);
  if (z > UINT64_MAX) throw new RangeError(`long varint overflows 64 bits`);
  const value = (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  return normalizeLong(value);
}

/**
 * Encode one value as a zig-zag varint.
 *
 * @param value  A safe-integer `number` or an int64 `bigint` (see {@link isAvroLong}).
 * @returns      1 to 10 bytes.
 * @throws {RangeError} if `value` is not a valid long (a programmer error).
 */
export function writeZigZagVarint(value: AvroLong): Buffer {
  if (!isAvroLong(value)) throw new RangeError(`value ${String(value)} is not an int64`);
  const out: number[] = [];
  if (typeof value === 'number' && Math.abs(value) < FAST_ENCODE_LIMIT) {
    let z = value >= 0 ? value * 2 : -value * 2 - 1;
    while (z >= 128) {
      out.push((z % 128) | 0x80);
      z = Math.floor(z / 128);
    }
    out.push(z);
    return Buffer.from(out);
  }
  const v = BigInt(value);
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  while (z >= 128n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

/** Convert a JSON-ish long (number, bigint or decimal string) to an exact {@link AvroLong}. */
function fromJsonLong(value: unknown): AvroLong {
  // Out of the int64 range, refused naming the value as text: avsc formats its error with %j, which throws on a bigint
  // (a trial's default 2^63 ended in "Do not know how to serialize a BigInt").
  const exact = (v: bigint): AvroLong => {
    if (!isAvroLong(v)) throw new RangeError(`value ${v} is outside the long range −2^63..2^63−1`);
    return normalizeLong(v);
  };
  if (typeof value === 'bigint') return exact(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  // An integer written with an exponent (1e18) is exact as a double: its value.
  if (typeof value === 'number' && Number.isInteger(value)) return exact(BigInt(value));
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return exact(BigInt(value));
  throw new RangeError(`value ${typeof value === 'string' ? JSON.stringify(value) : String(value)} is not an exact long`);
}

/** Order two longs numerically (mixed number/bigint comparison is exact in JS). */
function compareLongs(a: AvroLong, b: AvroLong): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The custom avsc long type shared by every edgelat schema.
 *
 * Behaviour: `noUnpack` mode, so avsc hands over the raw varint bytes, which
 * {@link readZigZagVarint} decodes exactly; writes both `number` and `bigint`.
 * `toJSON` keeps bigints (so avsc's clone stays exact); serialise with
 * `toJsonText` from schemas/json.ts, never with `JSON.stringify`.
 * @see createLongAwareType in schemas/codec.ts, which installs it for plain `long`
 *      and for `{type: 'long', logicalType: 'timestamp-millis'}` alike.
 */
export const longType: avro.types.LongType = avro.types.LongType.__with(
  {
    fromBuffer: (buf: Buffer) => readZigZagVarint(buf),
    toBuffer: (value: AvroLong) => writeZigZagVarint(value),
    fromJSON: fromJsonLong,
    toJSON: (value: AvroLong) => value,
    isValid: isAvroLong,
    compare: compareLongs,
  },
  true,
);

/** What avsc's resolver reads a writer's value with (its tap is internal). */
interface ResolverLike { _read: (tap: unknown) => unknown }
/** The part of an avsc type that {@link promotedFrom} uses (internal in avsc's typings). */
interface UpdatableType { typeName: string; _read(tap: unknown): unknown; _update(resolver: ResolverLike, writer: UpdatableType): void; _copy(val: unknown, opts?: unknown): unknown }

/**
 * An avsc `double` or `float` type whose promotion from a writer's `long` is exact.
 *
 * avsc reads a promoted long with its default long reader, which has the
 * fault of case C10: −(2^52+1) written as a long and read as a double came
 * back as +2^52, with no error. Here the writer's long is read exactly by
 * {@link longType} and then rounded once to the nearest double (or float32,
 * `Math.fround`), as the specification's promotion asks. Promotions from
 * `int` (and `float` to `double`) are avsc's own.
 *
 * Source: Avro 1.11 specification, "Schema Resolution" (long is promotable
 * to float or double).
 * @param primitive  `'double'` or `'float'`.
 * @returns          A type to use for every `double` / `float` of a schema (schemas/codec.ts `createLongAwareType`).
 */
function promotedFrom(primitive: 'double' | 'float'): avro.Type {
  // avsc freezes its primitive types, so the promotion is a subclass's method, not a patched property.
  const Base = (primitive === 'float' ? avro.types.FloatType : avro.types.DoubleType) as unknown as new () => UpdatableType;
  const round = primitive === 'float' ? Math.fround : (x: number) => x;
  class ExactPromotion extends Base {
    override _update(resolver: ResolverLike, writer: UpdatableType): void {
      if (writer.typeName !== 'long' && writer.typeName !== 'abstract:long') return super._update(resolver, writer);
      resolver._read = (tap) => round(Number(writer._read(tap) as AvroLong));
    }

    // A default (and a copy) as the type holds it: an integer default beyond 2^53, which the exact schema parser
    // (codec.ts parseSchemaText) reads as a bigint, as its nearest double; a float's as float32 (0.1 → 0.10000000149…),
    // as a value read from the wire would be.
    override _copy(val: unknown, opts?: unknown): unknown {
      return super._copy(typeof val === 'bigint' ? round(Number(val)) : typeof val === 'number' ? round(val) : val, opts);
    }
  }
  return new ExactPromotion() as unknown as avro.Type;
}

/** The `double` of every edgelat schema: as avsc's, with an exact promotion from `long` ({@link promotedFrom}). */
export const doubleType = promotedFrom('double');
/** The `float` of every edgelat schema: as avsc's, with an exact promotion from `long` ({@link promotedFrom}). */
export const floatType = promotedFrom('float');
