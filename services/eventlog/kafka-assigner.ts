import { AssignerProtocol, type Assigner, type Cluster } from 'kafkajs';

/**
 * A kafkajs partition assigner that co-partitions: partition p of every
 * subscribed topic goes to the same member (Kafka's RangeAssignor rule, as
 * the in-process log assigns). A processor joining two topics keyed alike
 * (edge.inference.v1 ⋈ edge.load.v1) then holds both sides of each key.
 * Members are ordered by member id; each gets a contiguous range, the first
 * `count % members` get one more.
 * @see Apache Kafka `org.apache.kafka.clients.consumer.RangeAssignor`
 */
export function coPartitionedAssigner({ cluster }: { cluster: Cluster }): Assigner {
  const name = 'EdgelatRangeAssigner';
  const version = 1;
  return {
    name,
    version,
    async assign({ members, topics }) {
      const ids = members.map((m) => m.memberId).sort();
      const plan = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
      for (const topic of topics) {
        const partitions = cluster
          .findTopicPartitionMetadata(topic)
          .map((p) => p.partitionId)
          .sort((a, b) => a - b);
        const per = Math.floor(partitions.length / ids.length);
        const extra = partitions.length % ids.length;
        let next = 0;
        ids.forEach((id, i) => {
          const n = per + (i < extra ? 1 : 0);
          plan.get(id)![topic] = partitions.slice(next, next + n);
          next += n;
        });
      }
      return ids.map((memberId) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version, assignment: plan.get(memberId)!, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: Buffer.alloc(0) }) };
    },
  };
}
