/** The text lines of `ops audit --repair` beyond the reconcile tally (ops/report.ts prints them). */
import type { AuditReport } from './audit';

/** Untouched findings and remaining drift a text report lists; --json lists all. */
const LISTED = 20;

export function repairLines(repair: NonNullable<AuditReport['repair']>): string[] {
  const lines: string[] = [];
  const r = repair.recount;
  if (r.tuples > 0) lines.push(`recount: ${r.tuples} tuple(s) measured against their contribution rows: ${r.recounted} recounted, ${r.exact} already exact`);
  for (const u of repair.untouched.slice(0, LISTED)) {
    lines.push(`  UNTOUCHED ${u.invariant} ${u.pk ?? '-'} ${u.sk ?? '-'}${u.collection ? ` (${u.collection}/${u.id})` : ''}: ${u.reason}`);
  }
  if (repair.untouched.length > LISTED) lines.push(`  ... and ${repair.untouched.length - LISTED} more untouched (--json lists all)`);
  if (repair.queued > 0) lines.push(`search: ${repair.queued} trigger(s) queued; the indexer applies them after this command (audit I1 again to confirm)`);
  lines.push(`re-audit: ${repair.reaudited} touched place(s) read again, ${repair.remaining.length === 0 ? 'all clean' : `${repair.remaining.length} still drifted`}`);
  for (const f of repair.remaining.slice(0, LISTED)) lines.push(`  STILL ${f.invariant} ${f.pk ?? '-'} ${f.sk ?? '-'}: ${f.problem}`);
  if (repair.remaining.length > LISTED) lines.push(`  ... and ${repair.remaining.length - LISTED} more (--json lists all)`);
  return lines;
}
