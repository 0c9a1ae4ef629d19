import { datasetFor, formatReport, parseCli } from '../../local/start';
import type { PipelineReport } from '../../local/pipeline';
import { generateDataset, SAMPLE_DATASET_OPTIONS } from '../../local/dataset';

describe('npm start CLI', () => {
  it('parses its flags, with the sample dataset by default', () => {
    expect(parseCli([])).toEqual({ keepRunning: false, records: undefined, seed: 8643, port: undefined, verbose: false });
    expect(parseCli(['--keep-running', '--records', '5000', '--seed', '7', '--port', '8000', '--verbose'])).toEqual({ keepRunning: true, records: 5000, seed: 7, port: 8000, verbose: true });
  });

  it('points the indexer at a real Typesense with --typesense-url and --typesense-api-key (both or neither)', () => {
    expect(parseCli(['--typesense-url', 'http://localhost:8108/', '--typesense-api-key', 'xyz']).typesense).toEqual({ url: 'http://localhost:8108', apiKey: 'xyz' });
    expect(() => parseCli(['--typesense-url', 'http://localhost:8108'])).toThrow(/go together/);
    expect(() => parseCli(['--typesense-url', 'localhost', '--typesense-api-key', 'k'])).toThrow(/http\(s\) URL/);
  });

  it.each([[['--records', 'many']], [['--records', '0']], [['--port', '-1']], [['--bogus']]])('rejects %j', (argv) => {
    expect(() => parseCli(argv)).toThrow();
  });

  it('sizes a generated dataset from --records', () => {
    expect(datasetFor({ seed: SAMPLE_DATASET_OPTIONS.seed })).toEqual(generateDataset(SAMPLE_DATASET_OPTIONS));
    const rows = datasetFor({ records: 1000, seed: 1 }).rows.length;
    expect(rows).toBeGreaterThan(800);
    expect(rows).toBeLessThan(1300);
  });

  const report = (drift: PipelineReport['audit']['drift']): PipelineReport => ({
    counters: { 'image-sync': { read: 10, filtered: 4, matched: 6, delivered: 6, committed: 6, invocations: 1, functionErrors: 0, partialFailures: 0, invalidResponses: 0, retries: 0, bisects: 0, dlqBatches: 0, dlqRecords: 0 } },
    dynamoRequests: { 'image-sync': { Query: 2 } },
    queue: { sent: 3, duplicates: 0, byCollection: { registry: { upsert: 2, delete: 1 } } },
    index: { registry: 1 },
    pointers: 1,
    tuples: 0,
    dlq: [],
    indexer: { invocations: 2, messages: 3, deleted: 3, failed: 1, functionErrors: 0, deadLettered: 0 },
    audit: { drift, checked: { documents: 1, entities: 1, tuples: 0 } },
  });

  it('reports counters, queue actions and a clean audit', () => {
    const text = formatReport(report([]), 1.25).join('\n');
    expect(text).toMatch(/image-sync\s+10\s+6\s+4\s+1\s+0\s+0/);
    expect(text).toMatch(/registry\s+2 upserts\s+1 deletes\s+-> 1 documents/);
    expect(text).toContain('no drift');
    expect(text).toContain('Indexer: 2 invocations, 3 messages received, 1 failed (redelivered), 0 dead-lettered');
  });

  it('lists drift instead of claiming none', () => {
    const text = formatReport(report([{ invariant: 'I3', where: 'ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S', problem: 'count 2, links 1' }]), 1).join('\n');
    expect(text).not.toContain('no drift');
    expect(text).toContain('I3 ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S: count 2, links 1');
  });
});
