/**
 * Reads a required environment variable. Call it at module scope so a missing variable
 * fails the function at init, naming the variable, never at the first record.
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}
