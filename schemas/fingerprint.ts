/**
 * CRC-64-AVRO (Rabin) schema fingerprints and the single-object header.
 *
 * Source: Avro 1.11 specification, "Schema Fingerprints" (the table-driven
 * algorithm with EMPTY = 0xc15d213aa4d7a795) and "Single object encoding"
 * (`C3 01` + the 8-byte little-endian fingerprint + the Avro body).
 */

/** The spec's EMPTY constant: fingerprint of the empty byte string. */
export const CRC64_AVRO_EMPTY = 0xc15d213aa4d7a795n;

const MASK64 = 0xffffffffffffffffn;

/** The 256-entry table of the spec, built once. */
const FP_TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (CRC64_AVRO_EMPTY & -(fp & 1n) & MASK64);
    table.push(fp);
  }
  return table;
})();

/**
 * Compute the CRC-64-AVRO fingerprint of some bytes as an unsigned 64-bit integer.
 *
 * @param bytes  Usually the UTF-8 bytes of a schema's Parsing Canonical Form.
 * @returns      The fingerprint, 0 <= fp < 2^64 (Java prints it as a signed long).
 * @see rabinFingerprint for the 8-byte little-endian form used on the wire.
 */
export function rabinFingerprint64(bytes: Uint8Array): bigint {
  let fp = CRC64_AVRO_EMPTY;
  for (const b of bytes) fp = (fp >> 8n) ^ FP_TABLE[Number((fp ^ BigInt(b)) & 0xffn)]!;
  return fp;
}

/**
 * Compute the CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form.
 *
 * @param canonicalForm  The schema's Parsing Canonical Form (Avro spec "Parsing
 *                       Canonical Form for Schemas"), e.g. `"null"` with quotes;
 *                       hashed as UTF-8.
 * @returns              8 bytes, little-endian, as written after `C3 01` in a
 *                       single-object encoded message.
 */
export function rabinFingerprint(canonicalForm: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(rabinFingerprint64(Buffer.from(canonicalForm, 'utf8')));
  return out;
}

/** The two marker bytes that open a single-object encoded message. */
export const SINGLE_OBJECT_MAGIC: Readonly<Buffer> = Buffer.from([0xc3, 0x01]);

/** Length of the single-object header: 2 magic bytes + 8 fingerprint bytes. */
export const SINGLE_OBJECT_HEADER_BYTES = 10;

/**
 * Build the 10-byte single-object header for a schema fingerprint.
 *
 * @param fingerprint  8-byte little-endian fingerprint from {@link rabinFingerprint}.
 * @returns            `C3 01` followed by the fingerprint.
 */
export function singleObjectHeader(fingerprint: Buffer): Buffer {
  return Buffer.concat([SINGLE_OBJECT_MAGIC, fingerprint]);
}
