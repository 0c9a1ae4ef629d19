import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AUDIT_ENV } from '../lambda/audit-trail/config';
import { ENCRYPTION_CONTEXT } from '../lambda/audit-trail/envelope';
import { DEFAULT_RETENTION_DAYS, HISTORY_TABLE_SCHEMA } from '../lambda/audit-trail/history-table';
import type { SensitiveMode } from '../lambda/audit-trail/sensitive';
import { MAX_FILTERS_PER_MAPPING, parseRowKinds, rowKindFilters, type RowKindName } from '../lambda/shared/row-kinds';
import type { FanoutAlarms } from './alarms';
import { checkIntRange, ConfigError, type LogLevel } from './config';
import type { StreamMappingSettings } from './mapping-settings';
import type { ChangeSource } from './sources/change-source';
import { StreamFunction } from './stream-function';

/** The audit trail's options (StreamFanoutProps.auditTrail). */
export interface AuditTrailOptions {
  /** The row kinds to keep a history of. Default: every source row kind (never derived rows). */
  readonly rowKinds?: readonly RowKindName[];
  /**
   * An existing history table: partition key PK and sort key SK (strings), TTL on `expires_at`.
   * Default: a new one (on-demand, point-in-time recovery, no stream, retained on stack deletion).
   */
  readonly historyTable?: dynamodb.ITable;
  /** How personal fields are stored: `encrypt` (default; readable with kms:Decrypt) or `hash` (keyed digest only). */
  readonly sensitiveFields?: SensitiveMode;
  /** `encrypt`: the KMS key that makes the data keys. Default: a new symmetric key with rotation, retained. */
  readonly kmsKey?: kms.IKey;
  /** `hash`: the secret holding the hash key (a string of 32 characters or more). Default: a new generated secret, retained. */
  readonly hashKeySecret?: secretsmanager.ISecret;
  /** Days a history row is kept after its change (TTL). Default 90. */
  readonly retentionDays?: number;
}

export interface AuditTrailProps extends AuditTrailOptions {
  /** Where the table's changes come from (the fan-out's source). */
  readonly source: ChangeSource;
  readonly settings: StreamMappingSettings;
  /** The fan-out's failure bucket destination. */
  readonly onFailure: lambda.IEventSourceDlq;
  readonly logLevel: LogLevel;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The audit trail: its own function and mapping (filters derived from the source row kinds'
 * key rules), its history table, and the key that seals personal fields. The function may
 * PutItem into the history table and GenerateDataKey on its key (with the trail's encryption
 * context), or read the hash secret: it can write history, never read it back or decrypt.
 */
export class AuditTrail extends Construct {
  /** The function's construct id, and the prefix of its alarms (AuditTrailIteratorAgeAlarm, ...). */
  static readonly FUNCTION_ID = 'AuditTrail';
  readonly fn: StreamFunction;
  /** The event source mapping's id (the dashboard graphs its event counts). */
  readonly mappingId: string;
  readonly historyTable: dynamodb.ITable;
  readonly kmsKey?: kms.IKey;
  readonly hashKeySecret?: secretsmanager.ISecret;
  readonly rowKinds: readonly RowKindName[];

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const mode: SensitiveMode = props.sensitiveFields ?? 'encrypt';
    if (mode !== 'encrypt' && mode !== 'hash') throw new ConfigError(`auditTrail.sensitiveFields must be encrypt or hash, got ${JSON.stringify(mode)}`);
    if (mode === 'hash' && props.kmsKey) throw new ConfigError('auditTrail.kmsKey is for sensitiveFields encrypt; hash mode uses hashKeySecret');
    if (mode === 'encrypt' && props.hashKeySecret) throw new ConfigError('auditTrail.hashKeySecret is for sensitiveFields hash');
    const retentionDays = checkIntRange('auditTrail.retentionDays', props.retentionDays ?? DEFAULT_RETENTION_DAYS, 1, 3650);
    let kinds: RowKindName[];
    try {
      kinds = parseRowKinds(props.rowKinds === undefined ? undefined : props.rowKinds.join(','));
    } catch (error) {
      throw new ConfigError(`auditTrail.rowKinds: ${(error as Error).message}`);
    }
    if (kinds.length === 0) throw new ConfigError('auditTrail.rowKinds is empty: leave it out for every row kind');
    this.rowKinds = kinds;
    const filters = rowKindFilters(kinds);
    if (filters.length > MAX_FILTERS_PER_MAPPING) throw new ConfigError(`audit-trail needs ${filters.length} filters; a mapping takes at most ${MAX_FILTERS_PER_MAPPING}`);

    this.historyTable = props.historyTable ?? new dynamodb.Table(this, 'HistoryTable', {
      partitionKey: { name: HISTORY_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: HISTORY_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: HISTORY_TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // History is evidence: it outlives the stack, like the source table.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment: Record<string, string> = {
      [AUDIT_ENV.historyTable]: this.historyTable.tableName,
      [AUDIT_ENV.sensitive]: mode,
      [AUDIT_ENV.rowKinds]: kinds.join(','),
      [AUDIT_ENV.retentionDays]: String(retentionDays),
      [AUDIT_ENV.source]: props.source.kind,
    };
    if (mode === 'encrypt') {
      this.kmsKey = props.kmsKey ?? new kms.Key(this, 'HistoryKey', {
        description: 'audit trail: makes the data keys that encrypt personal fields in history rows',
        enableKeyRotation: true,
        // Without the key the encrypted history cannot be read: keep it when the stack goes.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      environment[AUDIT_ENV.kmsKeyId] = this.kmsKey.keyArn;
    } else {
      this.hashKeySecret = props.hashKeySecret ?? new secretsmanager.Secret(this, 'HashKey', {
        description: 'audit trail: the key of the keyed digests of personal fields in history rows',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      environment[AUDIT_ENV.hashSecretArn] = this.hashKeySecret.secretArn;
      if (!props.hashKeySecret) {
        Validations.of(this.hashKeySecret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: 'Not rotated on purpose: the digests in the history are comparable only under one key; a rotation would make every later digest differ from the earlier ones.',
        });
      }
    }

    this.fn = new StreamFunction(this, AuditTrail.FUNCTION_ID, { name: 'audit-trail', environment, logLevel: props.logLevel, logRetention: props.logRetention });
    const mapping = props.source.eventSource({ name: 'audit-trail', settings: props.settings, filters, onFailure: props.onFailure });
    this.fn.function.addEventSource(mapping);
    this.mappingId = mapping.eventSourceMappingId;

    // Exactly what the function sends: a conditional PutItem per history row, and one of
    // GenerateDataKey (bound to the trail's encryption context) or GetSecretValue.
    this.fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [this.historyTable.tableArn] }));
    if (this.kmsKey) {
      this.fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey'],
          resources: [this.kmsKey.keyArn],
          conditions: { StringEquals: Object.fromEntries(Object.entries(ENCRYPTION_CONTEXT).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])) },
        }),
      );
    }
    if (this.hashKeySecret) {
      this.fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.hashKeySecret.secretArn] }));
    }
    props.source.acknowledgeReader(this.fn.role);
  }

  /**
   * Its alarms, named after the function id: AuditTrailIteratorAgeAlarm, AuditTrailErrorsAlarm
   * and AuditTrailDestinationDeliveryFailuresAlarm, as every stream function has, plus
   * AuditTrailFatalFailuresAlarm: a history write or a key request failed for good (access
   * denied, a missing table or key), also for a record after the first of its batch, which
   * Lambda's Errors does not count (a partial batch response).
   */
  addAlarms(alarms: FanoutAlarms, iteratorAgeSeconds: number): void {
    const id = AuditTrail.FUNCTION_ID;
    alarms.streamFunction(id, this.fn, iteratorAgeSeconds);
    alarms.failures(id, 'audit-trail', 'fatal', `${id}: history writes or data-key requests failed for good (access denied, a missing history table or key); their records are retried until the mapping gives up`);
  }
}
