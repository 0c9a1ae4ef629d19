/**
 * The chaos run's repair pass: what an operator runs after drift (docs/operations.md):
 * `ops audit --repair` (the same reconcile entries the handlers use, origin `repair`), then
 * the one finding no trigger can fix, a search document no row projects to, deleted by id.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SUBSYSTEM_NAMES } from '../lambda/subsystems';
import { typesenseClient } from '../lambda/typesense-indexer/search';
import { runAudit, type AuditReport, type FindingJson } from '../ops/audit';
import { createReconcilers } from '../ops/reconcile';
import { LOCAL_QUEUE_URL, type LocalPipeline } from './pipeline';

export interface RepairOutcome {
  /** The drift the audit confirmed before repairing it. */
  readonly findings: readonly FindingJson[];
  readonly repair: NonNullable<AuditReport['repair']>;
  readonly orphansDeleted: number;
}

export async function repairPass(pipeline: LocalPipeline, run: string): Promise<RepairOutcome> {
  const logger = new Logger({ serviceName: 'repair', logLevel: 'SILENT' as never });
  const reconcilers = createReconcilers({ doc: pipeline.doc, tableName: pipeline.tableName, logger, subsystems: [...SUBSYSTEM_NAMES], sqs: pipeline.queue, queueUrl: LOCAL_QUEUE_URL });
  const report = await runAudit({
    client: pipeline.client,
    tableName: pipeline.tableName,
    segments: 2,
    only: new Set(['I1', 'I2', 'I3']),
    readIndex: () => pipeline.snapshotIndex(),
    repair: { reconcilers, run },
  });
  const orphans = report.findings.filter((f) => f.invariant === 'I1' && f.pk === null && f.collection !== undefined && f.id !== undefined);
  if (orphans.length > 0) {
    if (!pipeline.typesense) throw new Error('repairPass: orphan documents need the local Typesense stand-in');
    const client = typesenseClient([pipeline.typesense.url], pipeline.typesense.apiKey);
    for (const o of orphans) await client.collections(o.collection!).documents(o.id!).delete();
  }
  // The reconcilers' writes go through the stream and the search triggers through the queue.
  await pipeline.drain(600_000);
  return { findings: report.findings, repair: report.repair!, orphansDeleted: orphans.length };
}
