import type { Logger } from '@scaidrive/core';
import type { Principal } from '../auth/principal.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by requestId(): echoes a well-formed incoming X-Request-Id, else a new one. */
      requestId: string;
      /** Child logger carrying request_id (and principal ids once authenticated). */
      log: Logger;
      /** Set by the auth middleware on every non-public route. */
      principal?: Principal;
    }
  }
}

export {};
