/**
 * AWS KMS as the envelope's opener, for `ops history --decrypt` only (never in the function's
 * bundle): Decrypt of a row's data key, with the trail's encryption context. Needs kms:Decrypt
 * on the key, which the function's role does not have.
 */
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ENCRYPTION_CONTEXT, type DataKeyOpener } from './envelope';

export function kmsDataKeyOpener(kms: Pick<KMSClient, 'send'>): DataKeyOpener {
  return {
    decryptDataKey: async (encrypted, keyId) => {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted, KeyId: keyId, EncryptionContext: { ...ENCRYPTION_CONTEXT } }));
      if (!out.Plaintext) throw new Error(`KMS Decrypt with ${keyId} returned no plaintext`);
      return out.Plaintext;
    },
  };
}
