/**
 * AWS KMS behind the envelope's ports. The function holds GenerateDataKey on its key and
 * nothing else (it cannot decrypt what it wrote); `ops history --decrypt` uses Decrypt.
 * Every data key is bound to the trail's encryption context (envelope.ts).
 */
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ENCRYPTION_CONTEXT, type DataKeyOpener, type DataKeySource } from './envelope';

export { ENCRYPTION_CONTEXT };

export function kmsDataKeySource(kms: Pick<KMSClient, 'send'>, keyId: string): DataKeySource {
  return {
    generateDataKey: async () => {
      const out = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { ...ENCRYPTION_CONTEXT } }));
      if (!out.Plaintext || !out.CiphertextBlob || !out.KeyId) throw new Error(`KMS GenerateDataKey on ${keyId} returned no key`);
      return { plaintext: out.Plaintext, encrypted: out.CiphertextBlob, keyId: out.KeyId };
    },
  };
}

export function kmsDataKeyOpener(kms: Pick<KMSClient, 'send'>): DataKeyOpener {
  return {
    decryptDataKey: async (encrypted, keyId) => {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted, KeyId: keyId, EncryptionContext: { ...ENCRYPTION_CONTEXT } }));
      if (!out.Plaintext) throw new Error(`KMS Decrypt with ${keyId} returned no plaintext`);
      return out.Plaintext;
    },
  };
}
