/**
 * The edgelat schemas, compiled once at startup, and their codecs (DESIGN §2).
 *
 * The `.avsc` files next to this module are the source of truth; types.ts
 * mirrors them. Wire format: single-object Avro (`C3 01` + CRC-64-AVRO
 * fingerprint + body, Avro 1.11 spec "Single object encoding") or JSON.
 */
import { readFileSync } from 'node:fs';
import { createCodec, type Codec, type RecordKind } from './codec.ts';
import type { CorrelationUpdate, DeadLetter, DeploymentEvent, EnrichedInference, InferenceEvent, LateEvent, LoadSample, ShadowResult, ShadowVerdict } from './types.ts';

export type * from './types.ts';
export { createCodec, createLongAwareType, parseSchemaText, readWithWriterSchema, type Codec, type RecordKind } from './codec.ts';
export { type DecodeFailure, type DecodeResult, validateRecord } from './validate.ts';
export { rabinFingerprint, rabinFingerprint64, singleObjectHeader, SINGLE_OBJECT_MAGIC } from './fingerprint.ts';
export { parseJsonExact, toJsonText } from './json.ts';
export { isAvroLong, longType, type AvroLong } from './long.ts';

/** TS shape of each record kind. */
export interface RecordTypes {
  InferenceEvent: InferenceEvent;
  LoadSample: LoadSample;
  EnrichedInference: EnrichedInference;
  CorrelationUpdate: CorrelationUpdate;
  DeadLetter: DeadLetter;
  LateEvent: LateEvent;
  ShadowResult: ShadowResult;
  ShadowVerdict: ShadowVerdict;
  DeploymentEvent: DeploymentEvent;
}

/** Schema file (in this folder) of each record kind. */
export const SCHEMA_FILES: Readonly<Record<RecordKind, string>> = {
  InferenceEvent: 'inference-event.v1.avsc',
  LoadSample: 'load-sample.v1.avsc',
  EnrichedInference: 'enriched-inference.v1.avsc',
  CorrelationUpdate: 'correlation-update.v1.avsc',
  DeadLetter: 'dead-letter.v1.avsc',
  LateEvent: 'late-event.v1.avsc',
  ShadowResult: 'shadow-result.v1.avsc',
  ShadowVerdict: 'shadow-verdict.v1.avsc',
  DeploymentEvent: 'deployment-event.v1.avsc',
};

/**
 * Read and parse one `.avsc` file of this folder.
 *
 * @param kind  The record kind.
 * @returns     The schema JSON object.
 * @throws {Error} if the file is missing or not JSON (a broken install, at startup).
 */
export function loadSchema(kind: RecordKind): object {
  return JSON.parse(readFileSync(new URL(`./${SCHEMA_FILES[kind]}`, import.meta.url), 'utf8')) as object;
}

function build<K extends RecordKind>(kind: K): Codec<RecordTypes[K]> {
  return createCodec<RecordTypes[K]>(kind, loadSchema(kind));
}

/** Every codec, compiled once when this module is first imported. */
export const codecs: { readonly [K in RecordKind]: Codec<RecordTypes[K]> } = Object.freeze({
  InferenceEvent: build('InferenceEvent'),
  LoadSample: build('LoadSample'),
  EnrichedInference: build('EnrichedInference'),
  CorrelationUpdate: build('CorrelationUpdate'),
  DeadLetter: build('DeadLetter'),
  LateEvent: build('LateEvent'),
  ShadowResult: build('ShadowResult'),
  ShadowVerdict: build('ShadowVerdict'),
  DeploymentEvent: build('DeploymentEvent'),
});

/**
 * Return the compiled codec of a record kind.
 *
 * @param kind  One of the {@link RecordKind} names.
 * @returns     The shared codec (compiled at import time, never rebuilt).
 * @throws {RangeError} if `kind` is not a record kind (a programmer error).
 * @example codecFor('LoadSample').decode(message.value)
 */
export function codecFor<K extends RecordKind>(kind: K): Codec<RecordTypes[K]> {
  const codec = (codecs as unknown as Partial<Record<string, Codec<RecordTypes[K]>>>)[kind];
  if (!codec) throw new RangeError(`unknown record kind ${JSON.stringify(kind)}: expected one of ${Object.keys(codecs).join(', ')}`);
  return codec;
}

// Schema evolution (case C11): writer versions by fingerprint, and Confluent framing (async, separate from codecFor).
export {
  createEvolvingDecoder,
  decodeEvolved,
  defaultWriterSchemas,
  registerWriterSchema,
  schemaFingerprint,
  WriterSchemaRegistry,
  type EvolvingDecoder,
  type EvolvingDecoderOptions,
  type WriterSchemaEntry,
} from './resolve.ts';
export {
  CONFLUENT_HEADER_BYTES,
  CONFLUENT_MAGIC,
  ConfluentFraming,
  InMemorySchemaRegistry,
  SchemaRegistryError,
  UnknownSchemaIdError,
  type ConfluentFramingOptions,
  type SchemaRegistryClient,
} from './registry.ts';
export { HttpSchemaRegistryClient, SCHEMA_REGISTRY_CONTENT_TYPE, schemaRegistryFromEnv, type HttpSchemaRegistryOptions } from './registry-http.ts';
