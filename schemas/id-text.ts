/**
 * The characters an id must not hold, shared by the ingestion's record checks (validate.ts) and the commands' and the
 * API's id rule (services/names.ts `idProblem`): an id that ingestion stores must be one a command can name.
 */

/** Bidirectional marks, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029): they reorder or break the text around them. */
export const BIDI_OR_SEPARATOR = /[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Characters that do not show, so that an id holding one reads as another (a trial: `--version "v1\u200b"` was answered
 * "no measurement of bert-99 v1", which looks like v1): Unicode's default-ignorable code points and format characters
 * (zero-width space, word joiner, invisible operators U+2061–U+2064, byte-order mark, soft hyphen, Hangul fillers, tag
 * characters; a re-test passed U+2061, U+3164, U+E0041), the braille blank U+2800; and U+FFFD, what a byte that is not
 * UTF-8 in an argument becomes. The joiners U+200C and U+200D are kept: scripts and emoji sequences use them.
 */
export const INVISIBLE_OR_REPLACEMENT = /(?![\u200c\u200d])[\p{Default_Ignorable_Code_Point}\p{Cf}\u2800\ufffd]/u;
