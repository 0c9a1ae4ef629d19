import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HELP } from '../../ops/help';
import { ROOT } from './support';

/**
 * What ships beside the code stays true: one version everywhere, no pointer to a document the
 * repository does not have, and an IAM policy for the operations CLI that covers every AWS call
 * it makes.
 */
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const SHIPPED_DOCS = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('version', () => {
  it("package.json's version is the CHANGELOG's top version and README's upgrading section names it", () => {
    const { version } = JSON.parse(read('package.json')) as { version: string };
    const top = /^## (\d+\.\d+\.\d+)\b/m.exec(read('CHANGELOG.md'))?.[1];
    expect(top).toBe(version);
    expect(read('README.md')).toMatch(new RegExp(`^### Upgrading to ${version.replace(/\./g, '\\.')}$`, 'm'));
    expect((JSON.parse(read('package-lock.json')) as { version: string }).version).toBe(version);
  });
});

describe('shipped docs', () => {
  it.each(SHIPPED_DOCS)('%s links only to files in the repository and cites no outside design document', (doc) => {
    const text = read(doc);
    const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
    expect(links.filter((link) => !existsSync(resolve(ROOT, dirname(doc), link)))).toEqual([]);
    expect(text).not.toMatch(/DESIGN(\.md|\s*§)/);
  });
});

/** IAM action of each SDK command the CLI may send (TransactWrite: every item kind it may hold). */
const ACTIONS: Record<string, string[]> = {
  DescribeTableCommand: ['dynamodb:DescribeTable'],
  ScanCommand: ['dynamodb:Scan'],
  QueryCommand: ['dynamodb:Query'],
  GetCommand: ['dynamodb:GetItem'],
  GetItemCommand: ['dynamodb:GetItem'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchGetItemCommand: ['dynamodb:BatchGetItem'],
  PutCommand: ['dynamodb:PutItem'],
  PutItemCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  UpdateItemCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  DeleteItemCommand: ['dynamodb:DeleteItem'],
  TransactWriteCommand: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  TransactWriteItemsCommand: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  GetShardIteratorCommand: ['dynamodb:GetShardIterator'],
  GetRecordsCommand: ['dynamodb:GetRecords'],
  DescribeStreamCommand: ['dynamodb:DescribeStream'],
  SendMessageCommand: ['sqs:SendMessage'],
  SendMessageBatchCommand: ['sqs:SendMessage'],
  ReceiveMessageCommand: ['sqs:ReceiveMessage'],
  DeleteMessageCommand: ['sqs:DeleteMessage'],
  DeleteMessageBatchCommand: ['sqs:DeleteMessage'],
  GetQueueAttributesCommand: ['sqs:GetQueueAttributes'],
  ListObjectsV2Command: ['s3:ListBucket'],
  GetObjectCommand: ['s3:GetObject'],
  DeleteObjectCommand: ['s3:DeleteObject'],
  PutObjectTaggingCommand: ['s3:PutObjectTagging'],
  DecryptCommand: ['kms:Decrypt'],
};

/** The TypeScript files ops/cli.ts reaches through relative imports (its own and the reconcile paths'). */
function sourcesOfCli(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const base = resolve(dirname(file), spec!);
      const found = [`${base}.ts`, join(base, 'index.ts')].find(existsSync);
      if (found) visit(found);
    }
  };
  visit(join(ROOT, 'ops', 'cli.ts'));
  return [...seen];
}

describe('the operations CLI IAM policy (docs/ops-iam-policy.json)', () => {
  const policy = JSON.parse(read('docs/ops-iam-policy.json')) as { Version: string; Statement: Array<{ Sid: string; Effect: string; Action: string[]; Resource: string }> };
  const granted = new Set(policy.Statement.flatMap((s) => s.Action));

  it('is a policy document: unique alphanumeric Sids, Allow, service:Action actions, one resource each', () => {
    expect(policy.Version).toBe('2012-10-17');
    const sids = policy.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const statement of policy.Statement) {
      expect(statement).toEqual({ Sid: expect.stringMatching(/^[A-Za-z0-9]+$/), Effect: 'Allow', Action: expect.any(Array), Resource: expect.stringMatching(/^arn:aws:(dynamodb|sqs|s3|kms):/) });
      for (const action of statement.Action) expect(action).toMatch(/^(dynamodb|sqs|s3|kms):[A-Z][A-Za-z0-9]+$/);
    }
  });

  it('grants every action of every SDK command the CLI can send', () => {
    const commands = new Set(sourcesOfCli().flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/new (\w+Command)\(/g)].map((m) => m[1]!)));
    expect(commands.size).toBeGreaterThan(5);
    // A command not in ACTIONS is new to the CLI: add its action to the policy and here.
    expect([...commands].filter((c) => !(c in ACTIONS))).toEqual([]);
    expect([...commands].flatMap((c) => ACTIONS[c]!).filter((action) => !granted.has(action))).toEqual([]);
  });

  it('docs/deploying.md maps every command to statements that exist, and names every statement', () => {
    const doc = read('docs/deploying.md');
    const named = new Set([...doc.matchAll(/`([A-Z][A-Za-z0-9]+)`/g)].map((m) => m[1]!));
    const sids = policy.Statement.map((s) => s.Sid);
    expect(sids.filter((sid) => !named.has(sid))).toEqual([]);
    const commands = [...HELP.main!.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThan(3);
    expect(commands.filter((c) => !new RegExp(`^\\| \`${c}\\b`, 'm').test(doc))).toEqual([]);
  });
});
