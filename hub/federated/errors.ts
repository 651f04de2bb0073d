import { DcloudError } from '../../protocol/errors.ts';

/** The federated engine's error catalogue (the transport's is hub/federation/errors.ts). */
export const FederatedErrorCodes = {
  DEFERRED: 'FEDERATION_ENTRY_DEFERRED',
  OFF: 'FEDERATION_OFF',
} as const;

/**
 * A log entry that depends on one this hub does not hold yet (an assignment for a task whose
 * announcement is still on its way, a decision citing an assignment not synced yet). Thrown to
 * the transport, which then does not archive the entry and fetches it again at the next sync.
 */
export class EntryDeferredError extends DcloudError {
  constructor(reason: string) {
    super(FederatedErrorCodes.DEFERRED, `entry deferred until what it depends on arrives: ${reason}`, 409);
    this.name = 'EntryDeferredError';
  }
}

/** GET /v1/federation on a hub started without --listen. */
export class FederationOffError extends DcloudError {
  constructor() {
    super(FederatedErrorCodes.OFF, 'this hub runs alone: start it with --listen (and --bootstrap) to join a federation', 404);
    this.name = 'FederationOffError';
  }
}
