/**
 * Kafka's default key partitioner: murmur2 (seed 0x9747b28c) over the key's
 * UTF-8 bytes, made positive with `& 0x7fffffff`, modulo the partition count.
 *
 * Source: Apache Kafka `org.apache.kafka.common.utils.Utils.murmur2` and
 * `BuiltInPartitioner.partitionForKey` (the same function kafkajs ships as its
 * `DefaultPartitioner`/Java-compatible partitioner).
 */

/**
 * Compute Kafka's 32-bit murmur2 hash of `data`.
 * @param data  Key bytes.
 * @returns     Signed 32-bit hash, as Java's `int`.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length4 * 4;
  switch (length % 4) {
    case 3:
      h ^= (data[tail + 2]! & 0xff) << 16;
    // falls through
    case 2:
      h ^= (data[tail + 1]! & 0xff) << 8;
    // falls through
    case 1:
      h ^= data[tail]! & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key.
 * @param key         Record key (UTF-8 encoded).
 * @param partitions  Partition count, >= 1.
 * @throws {RangeError} if `partitions` < 1.
 */
export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions: expected an integer >= 1, got ${JSON.stringify(partitions)}`);
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
