import type { Principal } from '../auth/principal.js';

/** Who asks for a change, for permission checks and audit rows. */
export interface Actor {
  principal: Principal;
  requestId: string;
}
