/**
 * A GSS-style authentication mechanism that SPNEGO can carry. NTLM is the one implemented here; a
 * Kerberos mechanism can be added by implementing this interface.
 */
export interface AuthMechanism {
  /** Dotted OID of the mechanism (e.g. NTLMSSP 1.3.6.1.4.1.311.2.2.10). */
  readonly oid: string;
  /** The first token to send. */
  initialToken(): Buffer;
  /** Consumes a server token; returns the next token to send (empty when there is nothing to send). */
  step(serverToken: Buffer): Buffer;
  /** True when the mechanism has produced its last token. */
  readonly complete: boolean;
  /** The session key after completion (empty for anonymous sessions). */
  sessionKey(): Buffer;
  /** True when the session is anonymous (no key: no signing or encryption possible). */
  readonly anonymous: boolean;
  /** GSS_GetMIC for the SPNEGO mechListMIC, when the mechanism supports integrity. */
  getMic?(data: Buffer): Buffer;
  /** GSS_VerifyMIC for the server's mechListMIC. */
  verifyMic?(data: Buffer, mic: Buffer): boolean;
  /** True when SPNEGO must send a mechListMIC (e.g. NTLM included a MIC). */
  readonly wantsMechListMic?: boolean;
}

/** Credentials for username/password mechanisms. Never logged, never put in an error. */
export interface PasswordCredentials {
  domain: string;
  username: string;
  password: string;
  workstation: string;
}
