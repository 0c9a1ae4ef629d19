import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { prng } from '../../local/dataset';
import { KinesisStreamEmulation } from '../../local/kinesis/kinesis-stream';
import { toKinesisRecord } from '../../local/kinesis/kinesis-invoke';
import { toLambdaRecord, type StreamSource } from '../../local/stream-source';
import { fromKinesisRecord } from '../../lambda/shared/kinesis-record';
import { decodeRecord } from '../../lambda/shared/decode';

/** A one-shard table stream holding `records`, all readable at once (a fake at the StreamSource port). */
function tableStream(records: SdkStreamRecord[]): StreamSource {
  return {
    describeShards: async () => [{ shardId: 'shard-0' }],
    getShardIterator: async () => '0',
    getRecords: async (iterator, limit) => {
      const from = Number(iterator);
      const page = records.slice(from, from + limit);
      return { records: page, nextIterator: String(from + page.length) };
    },
  };
}

const change = (i: number, pk = `FAA#LINKS`): SdkStreamRecord => ({
  eventID: `evt-${i}`,
  eventName: 'MODIFY',
  dynamodb: {
    ApproximateCreationDateTime: new Date(1_780_000_000_000 + Math.floor(i / 10) * 1000),
    Keys: { PK: { S: pk }, SK: { S: `MFR_MDL_CODE#1#SN#${i % 3}` } },
    NewImage: { PK: { S: pk }, SK: { S: `MFR_MDL_CODE#1#SN#${i % 3}` }, n: { N: String(i) } },
    OldImage: { PK: { S: pk }, SK: { S: `MFR_MDL_CODE#1#SN#${i % 3}` }, n: { N: String(i - 1) } },
    SequenceNumber: String(1000 + i),
    SizeBytes: 10,
  },
});

async function readAll(kinesis: KinesisStreamEmulation) {
  const out: { shardId: string; record: SdkStreamRecord }[] = [];
  for (const { shardId } of await kinesis.describeShards('arn:stream')) {
    const it = await kinesis.getShardIterator('arn:stream', shardId, { type: 'TRIM_HORIZON' });
    const page = await kinesis.getRecords(it!, 10_000);
    for (const record of page.records) out.push({ shardId, record });
  }
  return out;
}

describe('Kinesis delivery emulated over a table stream', () => {
  const records = Array.from({ length: 300 }, (_, i) => change(i));

  it('spreads one item\'s records over several shards, duplicates some, and keeps every change', async () => {
    const kinesis = new KinesisStreamEmulation(tableStream(records), { shards: 4, duplicateRate: 0.1, random: prng(7) });
    const read = await readAll(kinesis);
    const shardsOfItem = new Set(read.filter((r) => r.record.dynamodb?.Keys?.SK?.S === 'MFR_MDL_CODE#1#SN#0').map((r) => r.shardId));
    expect(shardsOfItem.size).toBe(4);
    expect(kinesis.duplicates).toBeGreaterThan(10);
    expect(read).toHaveLength(300 + kinesis.duplicates);
    expect(new Set(read.map((r) => r.record.eventID)).size).toBe(300);
    // Sequence numbers are unique across the stream, duplicates included.
    expect(new Set(read.map((r) => r.record.dynamodb?.SequenceNumber)).size).toBe(read.length);
  });

  it('gives microsecond change times that follow the table order (so ordering by change time is exact)', async () => {
    const kinesis = new KinesisStreamEmulation(tableStream(records), { shards: 3, random: prng(1) });
    const read = await readAll(kinesis);
    const micros = (r: SdkStreamRecord) => kinesis.changeTimeMicros.get(r.dynamodb!.SequenceNumber!)!;
    const byTableOrder = [...read].sort((a, b) => Number(a.record.dynamodb!.NewImage!.n!.N) - Number(b.record.dynamodb!.NewImage!.n!.N));
    for (let i = 1; i < byTableOrder.length; i++) expect(micros(byTableOrder[i]!.record)).toBeGreaterThan(micros(byTableOrder[i - 1]!.record));
    // Within the record's own second.
    for (const { record } of read) expect(Math.floor(micros(record) / 1e6)).toBe(Math.floor(record.dynamodb!.ApproximateCreationDateTime!.getTime() / 1000));
  });

  it('resumes after a sequence number, as a mapping does after a partial batch failure', async () => {
    const kinesis = new KinesisStreamEmulation(tableStream(records.slice(0, 20)), { shards: 1, random: prng(3) });
    const [first] = await readAll(kinesis);
    const after = await kinesis.getShardIterator('arn:stream', first!.shardId, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: first!.record.dynamodb!.SequenceNumber! });
    const page = await kinesis.getRecords(after!, 100);
    expect(page.records).toHaveLength(19);
    expect(page.records[0]!.eventID).toBe('evt-1');
  });

  it('delivers records in the shape the decoder reads back to the same change', async () => {
    const kinesis = new KinesisStreamEmulation(tableStream(records.slice(0, 1)), { shards: 1, random: prng(3) });
    const { record } = (await readAll(kinesis))[0]!;
    const lambdaRecord = toLambdaRecord(record, 'arn:stream');
    const micros = kinesis.changeTimeMicros.get(record.dynamodb!.SequenceNumber!)!;
    const decoded = decodeRecord(fromKinesisRecord(toKinesisRecord(lambdaRecord, micros, 'platform')));
    expect(decoded).toMatchObject({ eventID: 'evt-0', eventName: 'MODIFY', keys: { PK: 'FAA#LINKS' }, newImage: { n: 0 }, sequenceNumber: record.dynamodb!.SequenceNumber });
    expect(Math.round(decoded.approximateCreationDateTime! * 1e6)).toBe(micros);
  });
});
