/**
 * Configuration checks shared by the construct (props) and the app (CDK context). Every
 * error is a ConfigError with a one-line message; the app prints it without a stack trace.
 */

/** A configuration mistake: the app (`cdk synth`, `cdk deploy`) prints `error: <message>` and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The log levels Powertools Logger accepts (LOG_LEVEL). */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST'] as const;

export interface StreamArnParts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly tableName: string;
}

const STREAM_ARN = /^arn:(aws[\w-]*):dynamodb:([a-z0-9-]+):(\d{12}):table\/([^/]+)\/stream\/[^/]+$/;
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:([\w/+=.@-]+)$/;
/** Secrets Manager appends `-` and six random characters to a secret's name in its ARN. */
const SECRET_SUFFIX = /-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[\w-]*:kms:([a-z0-9-]+):\d{12}:key\/[\w-]+$/;

/** Parses a DynamoDB stream ARN, or throws naming the setting. */
export function parseStreamArn(arn: string, setting = 'tableStreamArn'): StreamArnParts {
  const m = STREAM_ARN.exec(arn);
  if (!m) throw new ConfigError(`${setting} is not a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>): ${arn}`);
  return { partition: m[1]!, region: m[2]!, account: m[3]!, tableName: m[4]! };
}

/**
 * An existing table given by name and stream ARN: the ARN must be this table's stream, and in
 * the stack's region when that is known (a mapping cannot read another region's stream).
 */
export function checkExistingTable(tableName: string, tableStreamArn: string, stackRegion: string | undefined): void {
  const arn = parseStreamArn(tableStreamArn);
  if (arn.tableName !== tableName) {
    throw new ConfigError(`tableName ${tableName} does not match the table in tableStreamArn (${arn.tableName})`);
  }
  if (stackRegion !== undefined && arn.region !== stackRegion) {
    throw new ConfigError(`tableStreamArn is in region ${arn.region} but the stack deploys to ${stackRegion}: a mapping reads streams of its own region only`);
  }
}

/** Typesense node URLs (comma-separated in context): http(s), host, optional port, no path. */
export function parseTypesenseNodes(value: string | readonly string[]): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value]).map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new ConfigError('typesenseNodes is empty: give one or more comma-separated http(s) URLs');
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.hostname === '' || parsed.pathname !== '/' || parsed.search !== '' || parsed.username !== '') {
      throw new ConfigError(`typesenseNodes: ${JSON.stringify(url)} is not an http(s) URL of the form https://host[:port]`);
    }
  }
  return urls;
}

/**
 * The secret's complete ARN; returns its region. A partial ARN (the name without the suffix
 * Secrets Manager appends) is refused rather than granted as `<name>-??????`: IAM matches the
 * policy's resource against the complete ARN, so a partial one would deploy and then deny
 * every read, and the KMS grant's encryption-context condition needs the complete ARN too.
 * (A name that itself ends in `-` and six letters or digits cannot be told from a complete ARN.)
 */
export function checkSecretArn(arn: string): string {
  const m = SECRET_ARN.exec(arn);
  if (!m) {
    throw new ConfigError(`typesenseApiKeySecretArn is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>): ${arn}`);
  }
  if (!SECRET_SUFFIX.test(m[2]!)) {
    throw new ConfigError(`typesenseApiKeySecretArn must be the secret's complete ARN, ending in the 6 characters Secrets Manager appends to its name (…:secret:${m[2]}-AbCdEf), since IAM would match a partial one to no secret: ${arn}`);
  }
  return m[1]!;
}

/**
 * The customer-managed KMS key that encrypts the API key secret: a key ARN (an alias ARN in
 * a policy covers no key), in the secret's region (Secrets Manager uses keys of its own region).
 */
export function checkSecretKmsKeyArn(arn: string, secretRegion: string | undefined): void {
  const m = KMS_KEY_ARN.exec(arn);
  if (!m) {
    throw new ConfigError(`typesenseApiKeyKmsKeyArn is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias): ${arn}`);
  }
  if (secretRegion !== undefined && m[1] !== secretRegion) {
    throw new ConfigError(`typesenseApiKeyKmsKeyArn is in region ${m[1]} but the secret is in ${secretRegion}: Secrets Manager encrypts a secret with a key of its own region`);
  }
}

export function checkTopicArn(arn: string): void {
  if (!/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(arn)) {
    throw new ConfigError(`alarmTopicArn is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>): ${arn}`);
  }
}

export function checkStackName(name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) {
    throw new ConfigError(`stackName must start with a letter and hold only letters, digits and hyphens (at most 128), got ${JSON.stringify(name)}`);
  }
}

export function checkLogLevel(value: string): LogLevel {
  const level = value.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return level as LogLevel;
}

/** `value` as given (a number, or the string -c passes) must be an integer within [min, max]. */
export function checkIntRange(setting: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${setting} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
