/**
 * The audit trail end to end on one machine, as `npm start -- --audit-trail` wires it: writes on
 * DynamoDB Local, its real stream through the event-source-mapping emulator (the stack's filters
 * and settings), the real handler writing history rows sealed with the key file. I5 after drain,
 * also when every batch is delivered a second time after it succeeded (a lost response).
 */
import { generateDataset } from '../../local/dataset';
import { EsmEmulator, type InvocationCall } from '../../local/esm-emulator';
import { formatAuditTrailReport, startAuditTrailLocal, type AuditTrailLocal } from '../../local/audit-trail/audit-trail-local';
import { applyChange, loadRows } from '../../local/table-io';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { tempKeyFile } from './support';

let table: TestTable;
let trail: AuditTrailLocal;
let emulator: EsmEmulator;

async function start(invoke?: (call: InvocationCall) => Promise<unknown>) {
  table = await createTestTable('audit-trail');
  trail = await startAuditTrailLocal({ endpoint: table.endpoint, keyFile: tempKeyFile().path, historyTableName: `${table.tableName}-history`, logLevel: 'SILENT' });
  emulator = EsmEmulator.forEndpoint(table.endpoint, {
    tableName: table.tableName,
    mappings: [trail.mapping],
    pollIntervalMs: 20,
    log: () => undefined,
    ...(invoke && { invoke }),
  });
  await emulator.start();
}

afterEach(async () => {
  await emulator.stop();
  await trail.stop({ dropTable: true });
  await table.drop();
});

describe('audit trail on DynamoDB Local through the emulator', () => {
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
