/** Human-readable reports (without --json). */
import type { AuditReport } from './audit';
import type { ReconcileTally } from './reconcile';

function tallyLines(t: ReconcileTally): string[] {
  const lines = [`keys seen: ${t.seen}`];
  for (const [name, s] of Object.entries(t.subsystems)) lines.push(`  ${name.padEnd(18)} keys ${String(s.keys).padStart(7)}  changed ${String(s.changed).padStart(7)}  failed ${String(s.failed).padStart(5)}`);
  for (const f of t.failures.slice(0, 20)) lines.push(`  FAILED ${f.subsystem} ${f.pk} ${f.sk}: ${f.error}`);
  if (t.failures.length > 20) lines.push(`  ... and ${t.failures.length - 20} more failed keys (--json lists all)`);
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
    if (a.repair) lines.push(`repair: ${a.repair.keys} key(s), ${a.repair.unrepairable} finding(s) no key can repair, ${a.repair.notRouted} key(s) with no reconciler here (I1 needs --queue-url)`, ...tallyLines(a.repair));
    return lines.join('\n');
  }
  for (const [k, v] of Object.entries(r)) {
    if (k === 'keys' && v && typeof v === 'object' && 'seen' in v) lines.push(...tallyLines(v as ReconcileTally));
    else if (Array.isArray(v)) {
      lines.push(`${k}: ${v.length}`);
      for (const item of v.slice(0, 50)) lines.push(`  ${Object.values(item as object).join(' ')}`);
    } else lines.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return lines.join('\n');
}
