import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Template } from 'aws-cdk-lib/assertions';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { createImageHandler } from '../../lambda/image-sync/handler';
import { indexBatch } from '../../lambda/typesense-indexer/handler';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import type { SearchPort } from '../../lambda/typesense-indexer/search';
import { localClientConfig } from '../../local/dynamodb-local';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { sqsRecord, triggerBody } from '../typesense-indexer/support';
import { faaRow, foreignRow, icaoManufacturerRow, icaoTypeRow, imageRow } from '../typesense-sync/support/rows';
import { synthStack } from './synth';

/**
 * IAM exactness (issue 9 §4): every DynamoDB action granted is used, every action used is
 * granted. Each real handler runs against DynamoDB Local over a scenario through every branch
 * (create, keep, repair, switch, delete; count, move, uncount; upsert, delete) while a middleware
 * records what it sends; the IAM actions those requests need are compared with the
 * synthesized policy of that function, and every partition key touched with its LeadingKeys.
 */
type Used = { actions: Set<string>; partitions: Set<string> };

const ITEM_ACTIONS: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
const pkOf = (key: Record<string, any> | undefined): string[] => (key?.PK?.S !== undefined ? [key.PK.S] : []);

/** The IAM actions and partitions one (marshalled) request needs. */
function record(used: Used, command: string, input: Record<string, any>) {
  const add = (action: string, pks: string[]) => {
    used.actions.add(`dynamodb:${action}`);
    pks.forEach((pk) => used.partitions.add(pk));
  };
  switch (command) {
    case 'TransactWriteItems':
    case 'TransactGetItems':
      for (const item of input.TransactItems) {
        const [kind, body] = Object.entries(item)[0] as [string, Record<string, any>];
        add(ITEM_ACTIONS[kind]!, pkOf(body.Key ?? body.Item));
      }
      return;
    case 'BatchGetItem':
      return add('BatchGetItem', Object.values(input.RequestItems).flatMap((r: any) => r.Keys.flatMap(pkOf)));
    case 'Query': {
      // The partition named by the key condition's equality on PK.
      const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
      const m = /([#\w]+)\s*=\s*(:\w+)/.exec(input.KeyConditionExpression);
      const pk = m && (names[m[1]!] ?? m[1]) === 'PK' ? [input.ExpressionAttributeValues[m[2]!].S] : [];
      expect(pk).toHaveLength(1);
      return add('Query', pk);
    }
    default:
      return add(command, pkOf(input.Key ?? input.Item));
  }
}

function recordingClient(endpoint: string) {
  const used: Used = { actions: new Set(), partitions: new Set() };
  const client = new DynamoDBClient(localClientConfig(endpoint));
  // 'build': after lib-dynamodb marshalled the input, so every request looks alike.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      record(used, String(context.commandName).replace(/Command$/, ''), args.input as Record<string, any>);
      return next(args);
    },
    { step: 'build', name: 'recordIamActions' },
  );
  return { client, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), used };
}

/** DynamoDB actions and LeadingKeys the synthesized policy grants a function (the mapping's stream reads excluded). */
function granted(template: Template, service: string) {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } })) as any[];
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } })).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
  const table = statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')) && JSON.stringify(s.Resource).includes('Table') && !JSON.stringify(s.Resource).includes('StreamArn'));
  const actions = new Set(table.flatMap((s: any) => [s.Action].flat() as string[]).filter((a) => !/^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(a)));
  const leadingKeys = table.flatMap((s: any) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? ['<no condition>']);
  return { actions, leadingKeys: [...new Set(leadingKeys)] as string[] };
}

/**
 * An SQS client that records the IAM action of every request and answers it itself (SQS is a
 * boundary: no queue runs here): SendMessageBatch is authorised as sqs:SendMessage.
 */
function recordingSqs() {
  const actions = new Set<string>();
  const client = new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      actions.add(`sqs:${command === 'SendMessageBatch' ? 'SendMessage' : command}`);
      const entries = (args.input as { Entries?: SendMessageBatchRequestEntry[] }).Entries ?? [];
      return { output: { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [], $metadata: {} }, response: {} } as any;
    },
    { step: 'initialize', name: 'recordIamActionsAndAnswer' },
  );
  return { client, actions };
}

/** SQS actions the synthesized policy grants a function. */
function grantedSqs(template: Template, service: string): Set<string> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } })) as any[];
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } })).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
  return new Set(statements.flatMap((s: any) => [s.Action].flat() as string[]).filter((a) => a.startsWith('sqs:')));
}

/** IAM StringLike: `*` any sequence, `?` one character. */
const like = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value);

const silent = (service: string) => new Logger({ serviceName: service, logLevel: 'SILENT' });

describe('IAM: each function is granted exactly the DynamoDB actions its handler sends', () => {
  const { template } = synthStack({ indexer: { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' } });
  let table: TestTable;
  beforeAll(async () => (table = await createTestTable('iam')));
  afterAll(() => table.drop());

  const put = (row: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item: row }));
  const del = (row: { PK: string; SK: string }) => table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { PK: row.PK, SK: row.SK } }));

  const expectExact = (service: string, used: Used) => {
    const grant = granted(template, service);
    expect([...used.actions].sort()).toEqual([...grant.actions].sort());
    for (const pk of used.partitions) expect({ pk, allowed: grant.leadingKeys.some((p) => like(p, pk)) }).toEqual({ pk, allowed: true });
  };

  it('image-sync: create, keep, repair, switch, delete', async () => {
    const { doc, used, client } = recordingClient(table.endpoint);
    const handler = createImageHandler({ doc, tableName: table.tableName, logger: silent('image-sync') });
    const pk = 'IMAGES#ORG#acme#ENTITY#REGISTRATION#ID#N1';
    const image = (n: number, url = `https://img.example/${n}.jpg`) => ({ PK: pk, SK: `IMG#2026-01-0${n}T00:00:00Z#${n}`, org_id: 'acme', entity_type: 'REGISTRATION', entity_id: 'N1', image_id: `i${n}`, url });
    const step = async (record: Parameters<typeof streamEvent>[0]) => expect(await handler(streamEvent(record))).toEqual({ batchItemFailures: [] });

    const [a, b] = [image(1), image(2)];
    await put(a);
    await step(insertRecord(a)); // create, pointing at a
    await put(b);
    await step(insertRecord(b)); // a newer image: the pointer (a user's choice) stays; a is read to check it
    const a2 = image(1, 'https://img.example/1-new.jpg');
    await put(a2);
    await step(modifyRecord(a, a2)); // repair the copied fields
    await del(a2);
    await step(removeRecord(a2)); // the pointer names a deleted image: switch to b
    await del(b);
    await step(removeRecord(b)); // no image left: delete the pointer
    client.destroy();
    expectExact('image-sync', used);
  });

  it('faa-matcher-sync: count a link, move it to another tuple, uncount it', async () => {
    const { doc, used, client } = recordingClient(table.endpoint);
    const handler = createMatcherHandler({ doc, tableName: table.tableName, logger: silent('faa-matcher-sync') });
    const link = (type: string) => ({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1384412#SN#28457', mfr_mdl_code: '1384412', serial_number: '28457', type_designator: type, manufacturer: 'BOEING', model: '737-8H4' });
    const step = async (record: Parameters<typeof streamEvent>[0]) => expect(await handler(streamEvent(record))).toEqual({ batchItemFailures: [] });

    await put(link('B738'));
    await step(insertRecord(link('B738')));
    await put(link('B739'));
    await step(modifyRecord(link('B738'), link('B739')));
    await del(link('B739'));
    await step(removeRecord(link('B739')));
    client.destroy();
    expectExact('faa-matcher-sync', used);
  });

  it('typesense-sync: sends the triggers of every indexed row kind (insert, modify, remove) and needs sqs:SendMessage alone', async () => {
    const { client, actions } = recordingSqs();
    const handler = createTypesenseHandler({ sqs: client, queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/search.fifo', logger: silent('typesense-sync') });
    const rows = [faaRow('N1'), foreignRow('G-ABCD'), imageRow('N1'), icaoTypeRow('B738'), icaoManufacturerRow('BOEING')];
    for (const row of rows) {
      const changed = { ...row, updated_at: '2026-02-01T00:00:00Z' };
      expect(await handler(streamEvent(insertRecord(row), modifyRecord(row, changed), removeRecord(changed)))).toEqual({ batchItemFailures: [] });
    }
    client.destroy();
    expect([...actions].sort()).toEqual([...grantedSqs(template, 'typesense-sync')].sort());
    expect([...actions]).toEqual(['sqs:SendMessage']);
  });

  it('typesense-indexer: upsert a present row, delete a missing one', async () => {
    const { client, used } = recordingClient(table.endpoint);
    const search: SearchPort = {
      importUpsert: async (_c, documents) => documents.map(() => ({ success: true as const })),
      deleteDocument: async () => 'missing',
      createCollection: async () => undefined,
    };
    const present = { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738', type_designator: 'B738', manufacturer: 'BOEING', model: '737-800' };
    await put(present);
    const outcome = await indexBatch({ ddb: client, tableName: table.tableName, search, logger: silent('typesense-indexer') }, [
      sqsRecord(triggerBody(present)),
      sqsRecord(triggerBody({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N404' }), 'other-group'),
    ]);
    expect(outcome.response.batchItemFailures).toEqual([]);
    client.destroy();
    expectExact('typesense-indexer', used);
  });
});
