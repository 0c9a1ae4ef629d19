/** Human-readable reports (without --json). */
import type { AuditReport } from './audit';
import { repairLines } from './audit-report';
import type { BackfillReport } from './backfill';
import type { KeyFailure, ReconcileTally } from './reconcile';

/** Failed keys a text report lists; --json names more (and --failed-keys FILE, where offered, all). */
const LISTED = 20;

function failureLines(failures: readonly KeyFailure[], total: number): string[] {
  const lines = failures.slice(0, LISTED).map((f) => `  FAILED ${f.subsystem} ${f.pk} ${f.sk}: ${f.error}`);
  if (total > LISTED) lines.push(`  ... and ${total - LISTED} more failed keys (--json names the first ${Math.max(failures.length, LISTED)})`);
  return lines;
}

function countLines(t: Pick<ReconcileTally, 'seen' | 'subsystems'>): string[] {
  const lines = [`keys seen: ${t.seen}`];
  for (const [name, s] of Object.entries(t.subsystems)) lines.push(`  ${name.padEnd(18)} keys ${String(s.keys).padStart(7)}  changed ${String(s.changed).padStart(7)}  failed ${String(s.failed).padStart(5)}`);
  return lines;
}

/** A tally, all of whose failures are listed (audit repair) or the first ones of `failed` (redrive). */
function tallyLines(t: Pick<ReconcileTally, 'seen' | 'subsystems' | 'failures'> & { failed?: number }): string[] {
  return [...countLines(t), ...failureLines(t.failures, t.failed ?? t.failures.length)];
}

function backfillLines(b: BackfillReport): string[] {
  const lines = [`run: ${b.run}${b.dryRun ? ' (dry run: nothing written)' : ''}`, `complete: ${b.complete}${b.resumed ? ' (resumed from the checkpoint)' : ''}`, `pages: ${b.pages}`];
  if (b.retried.keys > 0) lines.push(`retried: ${b.retried.keys} key(s) that failed before, ${b.retried.reconciled} reconciled now`);
  lines.push(...countLines(b.keys));
  lines.push(`failed keys: ${b.failed.count}${b.failed.count > 0 ? ' (still failing; run the same command again after fixing them)' : ''}`, ...failureLines(b.failed.keys, b.failed.count));
  if (b.stopped) lines.push(`stopped: ${b.stopped}`);
  if (b.takeover) lines.push(`takeover release: ${b.takeover.released} row(s) released (${b.takeover.deleted} deleted), complete: ${b.takeover.complete}`);
  if (b.takeoverRefused) lines.push(b.takeoverRefused);
  return lines;
}

export function formatReport(kind: string, report: object): string {
  const r = report as Record<string, unknown>;
  const lines: string[] = [];
  if (kind === 'audit') {
    const a = report as AuditReport;
    lines.push(`checked: ${Object.entries(a.checked).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (a.projection) lines.push(`projection (documents per collection): ${Object.entries(a.projection).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (a.findings.length === 0) lines.push('no drift');
    for (const f of a.findings) lines.push(`${f.invariant} ${f.pk ?? '-'} ${f.sk ?? '-'}${f.collection ? ` (${f.collection}/${f.id})` : ''}: ${f.problem}`);
    if (a.repair) lines.push(`repair: ${a.repair.keys} key(s), ${a.repair.unrepairable} finding(s) left untouched, ${a.repair.notRouted} key(s) with no reconciler here (I1 needs --queue-url)`, ...tallyLines(a.repair), ...repairLines(a.repair));
    return lines.join('\n');
  }
  if (kind === 'backfill') return backfillLines(report as BackfillReport).join('\n');
  for (const [k, v] of Object.entries(r)) {
    if (k === 'keys' && v && typeof v === 'object' && 'seen' in v) lines.push(...tallyLines(v as ReconcileTally & { failed?: number }));
    else if (Array.isArray(v)) {
      lines.push(`${k}: ${v.length}`);
      for (const item of v.slice(0, 50)) lines.push(`  ${Object.values(item as object).join(' ')}`);
      if (v.length > 50) lines.push(`  ... and ${v.length - 50} more (--json lists all)`);
    } else lines.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return lines.join('\n');
}
