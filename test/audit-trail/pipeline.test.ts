/**
 * The audit trail end to end on one machine, as `npm start -- --audit-trail` wires it: writes on
 * DynamoDB Local, its real stream through the event-source-mapping emulator (the stack's filters
 * and settings), the real handler writing history rows sealed with the key file. I5 after drain,
 * also when every batch is delivered a second time after it succeeded (a lost response).
 */
import { generateDataset } from '../../local/dataset';
import { EsmEmulator, type InvocationCall } from '../../local/esm-emulator';
import { formatAuditTrailReport, startAuditTrailLocal, type AuditTrailLocal, type AuditTrailLocalOptions } from '../../local/audit-trail/audit-trail-local';
import { toKinesisRecord } from '../../local/kinesis/kinesis-invoke';
import { applyChange, loadRows } from '../../local/table-io';
import { insertRecord, modifyRecord } from '../support/events';
import { registryRow } from './support';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { tempKeyFile } from './support';

let table: TestTable;
let trail: AuditTrailLocal;
let emulator: EsmEmulator;

async function start(invoke?: (call: InvocationCall) => Promise<unknown>, instrument?: AuditTrailLocalOptions['instrument']) {
  table = await createTestTable('audit-trail');
  trail = await startAuditTrailLocal({
    endpoint: table.endpoint,
    keyFile: tempKeyFile().path,
    historyTableName: `${table.tableName}-history`,
    logLevel: 'SILENT',
    retry: { sleep: async () => undefined },
    ...(instrument && { instrument }),
  });
  emulator = EsmEmulator.forEndpoint(table.endpoint, {
    tableName: table.tableName,
    mappings: [trail.mapping],
    pollIntervalMs: 20,
    log: () => undefined,
    ...(invoke && { invoke }),
  });
  await emulator.start();
}

describe('audit trail on DynamoDB Local through the emulator', () => {
  afterEach(async () => {
    await emulator.stop();
    await trail.stop({ dropTable: true });
    await table.drop();
  });

  it('one history row per change of a source row (I5), derived rows none, one data key', async () => {
    await start();
    const dataset = generateDataset({ seed: 11, registrations: 10 });
    await loadRows(table.doc, table.tableName, dataset.rows);
    for (const change of dataset.changes) await applyChange(table.doc, table.tableName, change);
    await emulator.drain({ timeoutMs: 60_000 });
    const report = await trail.report();
    expect(report.i5.findings).toEqual([]);
    expect(report.historyRows).toBe(report.i5.checked.changes);
    expect(report.historyRows).toBeGreaterThan(dataset.rows.length);
    expect(report.dataKeysGenerated).toBe(1);
    expect(formatAuditTrailReport(report)[1]).toMatch(/^I5 history: ok \(\d+ changes delivered/);
    const lines = trail.verboseLines(await trail.rows());
    expect(lines[0]).toMatch(/^history (insert|modify|remove|expire) PK=\S+ SK=\S+ eventID=\S+ fields=/);
  });

  it('failed history writes (throttled, then fatal once every 7th) are retried by the mapping: still exactly one row per change', async () => {
    let puts = 0;
    let failures = 0;
    await start(undefined, (client) =>
      client.middlewareStack.add(
        (next) => async (args) => {
          puts += 1;
          if (puts % 7 === 0) {
            failures += 1;
            // Every 14th: not retryable, so the record fails and the mapping retries (or bisects) the batch.
            throw Object.assign(new Error(puts % 14 === 0 ? 'injected: access denied' : 'injected: rate exceeded'), { name: puts % 14 === 0 ? 'AccessDeniedException' : 'ProvisionedThroughputExceededException' });
          }
          return next(args);
        },
        { step: 'build', name: 'injectFaults' },
      ),
    );
    const dataset = generateDataset({ seed: 13, registrations: 6 });
    await loadRows(table.doc, table.tableName, dataset.rows);
    for (const change of dataset.changes) await applyChange(table.doc, table.tableName, change);
    await emulator.drain({ timeoutMs: 60_000 });
    const report = await trail.report();
    expect(failures).toBeGreaterThan(3);
    // Records were delivered again after failures (retries of the rest of a batch), none given up.
    const counters = emulator.counters()['audit-trail']!;
    expect(counters.delivered).toBeGreaterThan(counters.matched);
    expect(emulator.dlq()).toEqual([]);
    expect(report.i5.findings).toEqual([]);
    expect(report.historyRows).toBe(report.i5.checked.changes);
  });

  it('every batch delivered twice (the first response lost): still exactly one row per change', async () => {
    await start(async (call) => {
      await call.handler(call.event, call.context);
      return call.handler(call.event, call.context);
    });
    const dataset = generateDataset({ seed: 12, registrations: 6 });
    await loadRows(table.doc, table.tableName, dataset.rows);
    for (const change of dataset.changes) await applyChange(table.doc, table.tableName, change);
    await emulator.drain({ timeoutMs: 60_000 });
    const report = await trail.report();
    expect(report.i5.findings).toEqual([]);
    expect(report.historyRows).toBe(report.i5.checked.changes);
  });
});

describe('audit trail locally, records as Kinesis delivers them', () => {
  it('Kinesis records (microsecond times, a duplicate under another sequence number) are read and checked like the handler reads them', async () => {
    const table = await createTestTable('audit-kinesis');
    const trail = await startAuditTrailLocal({ endpoint: table.endpoint, keyFile: tempKeyFile().path, historyTableName: `${table.tableName}-history`, source: 'kinesis', logLevel: 'SILENT' });
    try {
      const v1 = registryRow('N970');
      const v2 = { ...v1, status: 'D' };
      const [insert, modify] = [insertRecord(v1, { eventID: 'k-insert', sequenceNumber: '49001' }), modifyRecord(v1, v2, { eventID: 'k-modify', sequenceNumber: '49002' })];
      const kinesis = (record: typeof insert, micros: number, sequenceNumber = record.dynamodb!.SequenceNumber!) =>
        toKinesisRecord({ ...record, dynamodb: { ...record.dynamodb!, SequenceNumber: sequenceNumber } }, micros, table.tableName);
      // The modify first, then the insert twice (the second time under another Kinesis sequence number).
      const events = [[kinesis(modify, 1_780_000_000_000_002)], [kinesis(insert, 1_780_000_000_000_001), kinesis(insert, 1_780_000_000_000_001, '49999')]];
      for (const Records of events) expect(await trail.mapping.handler({ Records } as never)).toEqual({ batchItemFailures: [] });
      const report = await trail.report();
      expect(report.i5).toEqual({ checked: { changes: 2, rows: 2, items: 1 }, findings: [] });
      expect((await trail.rows()).map((r) => r.change_time_us).sort()).toEqual([1_780_000_000_000_001, 1_780_000_000_000_002]);
    } finally {
      await trail.stop({ dropTable: true });
      await table.drop();
    }
  });
});
