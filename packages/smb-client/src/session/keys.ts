import { CipherId, SmbCipher, cipherKeyBits } from '../crypto/cipher.js';
import { cstr, smb3Kdf } from '../crypto/kdf.js';
import { SigningAlgorithm, Signer, type SigningAlgorithmId } from '../crypto/signing.js';
import { Dialect } from '../wire/constants.js';

export interface SessionKeys {
  signingKey: Buffer;
  encryptionKey?: Buffer;
  decryptionKey?: Buffer;
  applicationKey: Buffer;
}

/** Key derivation of [MS-SMB2] 3.2.5.3.1 (SMB 2.x: the session key itself). */
export function deriveSessionKeys(
  dialect: number,
  sessionKey: Buffer,
  cipherId: number,
  preauthHash?: Buffer,
): SessionKeys {
  const key = Buffer.alloc(16);
  sessionKey.copy(key, 0, 0, Math.min(16, sessionKey.length));
  if (dialect < Dialect.SMB300) return { signingKey: key, applicationKey: key };
  if (dialect === Dialect.SMB311) {
    if (!preauthHash) throw new Error('SMB 3.1.1 key derivation needs the pre-auth hash');
    const bits = cipherKeyBits(cipherId || CipherId.AES_128_GCM);
    const full = bits === 256 && sessionKey.length >= 32 ? sessionKey.subarray(0, 32) : key;
    return {
      signingKey: smb3Kdf(key, cstr('SMBSigningKey'), preauthHash, 128),
      encryptionKey: smb3Kdf(full, cstr('SMBC2SCipherKey'), preauthHash, bits),
      decryptionKey: smb3Kdf(full, cstr('SMBS2CCipherKey'), preauthHash, bits),
      applicationKey: smb3Kdf(key, cstr('SMBAppKey'), preauthHash, 128),
    };
  }
  return {
    signingKey: smb3Kdf(key, cstr('SMB2AESCMAC'), cstr('SmbSign'), 128),
    encryptionKey: smb3Kdf(key, cstr('SMB2AESCCM'), cstr('ServerIn '), 128),
    decryptionKey: smb3Kdf(key, cstr('SMB2AESCCM'), cstr('ServerOut'), 128),
    applicationKey: smb3Kdf(key, cstr('SMB2APP'), cstr('SmbRpc'), 128),
  };
}

export function makeSigner(
  dialect: number,
  algorithm: SigningAlgorithmId,
  keys: SessionKeys,
): Signer {
  const alg = dialect < Dialect.SMB300 ? SigningAlgorithm.HMAC_SHA256 : algorithm;
  return new Signer(alg, keys.signingKey);
}

export function makeCipher(cipherId: number, keys: SessionKeys): SmbCipher | undefined {
  if (!cipherId || !keys.encryptionKey || !keys.decryptionKey) return undefined;
  return new SmbCipher(cipherId, keys.encryptionKey, keys.decryptionKey);
}
