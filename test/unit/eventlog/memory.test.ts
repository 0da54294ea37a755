import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { murmur2, partitionForKey } from '../../../services/eventlog/murmur2.ts';

describe('murmur2 (Kafka default partitioner)', () => {
  // Vectors from Apache Kafka's UtilsTest.testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %s like the Java client', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('maps a key to (hash & 0x7fffffff) % partitions', () => {
    // toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16.
    expect(partitionForKey('foobar', 50)).toBe(16);
    expect(() => partitionForKey('x', 0)).toThrow(/partitions/);
  });
});

describe('MemoryEventLog', () => {
  const v = (s: string) => Buffer.from(s);

  it('keys land on the partition Kafka would pick, offsets count per partition', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    const placed = await log.produce('t', [{ key: 'edge-01', value: v('a') }, { key: 'edge-01', value: v('b') }, { key: 'edge-02', value: v('c') }]);
    expect(placed[0]!.partition).toBe(partitionForKey('edge-01', 4));
    expect(placed.map((p) => p.offset).slice(0, 2)).toEqual([0, 1]);
    expect(placed[2]!.partition).toBe(partitionForKey('edge-02', 4));
  });

  it('a key of bytes that are not UTF-8 (wireKey) reads back as a Kafka consumer reads it: text with U+FFFD, the bytes in wireKey', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 2 });
    await log.produce('t', [{ key: null, wireKey: Buffer.from([0x65, 0xff]), partition: 1, value: v('a') }, { key: 'edge-01', partition: 1, value: v('b') }]);
    const [bytes, text] = await log.read({ topic: 't', partition: 1 }, 0, 2);
    expect([bytes!.key, bytes!.wireKey?.toString('hex'), text!.key, text!.wireKey]).toEqual(['e\uFFFD', '65ff', 'edge-01', undefined]);
  });

  it('a group resumes from its committed offset and sees end of input only when sealed and drained', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await log.produce('t', [0, 1, 2, 3, 4].map((i) => ({ key: null, value: v(String(i)) })));
    const c1 = await log.consumer('g', ['t']);
    const first = await c1.poll(3);
    expect(first.records.map((r) => r.offset)).toEqual([0, 1, 2]);
    await c1.commit([{ topic: 't', partition: 0, offset: 2, metadata: '{"maxTs":5}' }]);
    await c1.close();
    const c2 = await log.consumer('g', ['t']);
    expect(await c2.committed({ topic: 't', partition: 0 })).toEqual({ topic: 't', partition: 0, offset: 2, metadata: '{"maxTs":5}' });
    const again = await c2.poll(10);
    expect(again.records.map((r) => r.offset)).toEqual([2, 3, 4]);
    expect((await c2.poll(10)).endOfInput).toBe(false);
    await log.seal('t');
    expect(await c2.poll(10)).toEqual({ records: [], endOfInput: true });
    await expect(log.produce('t', [{ key: null, value: v('late') }])).rejects.toThrow(/sealed/);
  });

  it('two members share partitions without overlap, co-partitioned across topics, and a member cannot commit what it lost', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    const a = await log.consumer('g', ['x', 'y']);
    expect(a.assignment()).toHaveLength(8);
    const b = await log.consumer('g', ['x', 'y']);
    const pa = a.assignment().map((tp) => `${tp.topic}${tp.partition}`).sort();
    const pb = b.assignment().map((tp) => `${tp.topic}${tp.partition}`).sort();
    expect(pa).toEqual(['x0', 'x1', 'y0', 'y1']);
    expect(pb).toEqual(['x2', 'x3', 'y2', 'y3']);
    await expect(a.commit([{ topic: 'x', partition: 3, offset: 1, metadata: '' }])).rejects.toThrow(/not owned/);
    await b.close();
    expect(a.assignment()).toHaveLength(8);
  });
});
