/**
 * The bound of `model evaluate --format mlperf --draws`, apart from the evaluation (evaluate-mlperf.ts) so that the
 * command line can state it without loading the models (every command's start-up reads the flags).
 */

/** Largest `draws` accepted (each draw re-predicts every held-out system). */
export const MAX_DRAWS = 100;
