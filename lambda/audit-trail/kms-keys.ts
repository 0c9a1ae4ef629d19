/**
 * AWS KMS as the envelope's key source: the function holds GenerateDataKey on its key and
 * nothing else (it cannot decrypt what it wrote; the opener is kms-opener.ts, for ops).
 * Every data key is bound to the trail's encryption context (envelope.ts).
 */
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ENCRYPTION_CONTEXT, type DataKeySource } from './envelope';

export function kmsDataKeySource(kms: Pick<KMSClient, 'send'>, keyId: string): DataKeySource {
  return {
    generateDataKey: async () => {
      const out = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { ...ENCRYPTION_CONTEXT } }));
      if (!out.Plaintext || !out.CiphertextBlob || !out.KeyId) throw new Error(`KMS GenerateDataKey on ${keyId} returned no key`);
      return { plaintext: out.Plaintext, encrypted: out.CiphertextBlob, keyId: out.KeyId };
    },
  };
}
