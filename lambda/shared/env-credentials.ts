/**
 * The SDK clients' default credential provider inside the Lambda bundles: lib/bundling.ts
 * aliases @aws-sdk/credential-provider-node to this module. Lambda hands every function its
 * execution role's credentials as environment variables (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the default chain's other links (SSO, ini
 * files, credential_process, web identity, container and instance metadata) never run there,
 * yet they and the STS/SSO clients they carry were ~130 KB of every bundle. Without those
 * variables the first call fails with the SDK's "Unable to find environment variable credentials".
 * Code run from source (tests, npm start, bench) keeps the SDK's full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
