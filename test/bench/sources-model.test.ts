import { percentile, readModel } from '../../bench/sources-model';

describe('bench/sources-model: percentile', () => {
  it('takes the nearest rank, whatever the input order', () => {
    const values = [50, 10, 40, 20, 30, 100, 90, 80, 70, 60];
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(100);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile([7], 99)).toBe(7);
    // Rank ceil(0.6 x 4) = 3: the smallest value with at least 60 % of the samples at or below it.
    expect(percentile([4, 3, 2, 1], 60)).toBe(3);
    expect(percentile(Array.from({ length: 1000 }, (_, i) => i + 1), 99)).toBe(990);
  });

  it('does not reorder the caller’s array', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('has no value for no samples, and refuses a p outside 0..100', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe('bench/sources-model: read calls per shard', () => {
  it('DynamoDB Streams: 4 GetRecords/s per mapping, past two readers from the third subsystem', () => {
    const three = readModel('dynamodb-streams', 3);
    expect(three.readCallsPerShardPerSecond).toBe(12);
    expect(three.readersPerShard).toBe(3);
    expect(three.withinReaderLimit).toBe(false);
    expect(three.withinQuotedCallRate).toBe(false);
    expect(readModel('dynamodb-streams', 5).readCallsPerShardPerSecond).toBe(20);
    const one = readModel('dynamodb-streams', 1);
    expect(one.withinReaderLimit).toBe(true);
    expect(one.withinQuotedCallRate).toBe(true);
    expect(readModel('dynamodb-streams', 2).withinReaderLimit).toBe(true);
  });

  it('Kinesis enhanced fan-out: one subscription per consumer per shard every 300 s', () => {
    const five = readModel('kinesis', 5);
    expect(five.readCallsPerShardPerSecond).toBeCloseTo(5 / 300, 10);
    expect(five.withinReaderLimit).toBe(true);
    expect(five.withinQuotedCallRate).toBeUndefined();
    expect(readModel('kinesis', 21).withinReaderLimit).toBe(false);
  });

  it('refuses a subsystem count that is not a positive integer', () => {
    expect(() => readModel('kinesis', 0)).toThrow(/positive integer/);
    expect(() => readModel('dynamodb-streams', 2.5)).toThrow(/positive integer/);
  });
});
