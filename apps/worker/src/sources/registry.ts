import { AppError, ErrorCode, type Config } from '@scaidrive/core';
import type { AnyConnectorConfig, Connector, PrismaClient } from '@scaidrive/db';
import type { FileTree, StateStore } from '@scaidrive/sync';
import type { SecretBox, Logger } from '@scaidrive/core';

/** What a source factory may use besides the decrypted configuration. */
export interface SourceContext {
  connector: Connector;
  prisma: PrismaClient;
  secrets: SecretBox;
  config: Config;
  logger: Logger;
  signal: AbortSignal;
  /** The connector's file states (sources with id-based change feeds rebuild paths from it). */
  state: StateStore;
  /** Throttling waits and similar, for job metrics and the job summary. */
  onThrottle?(waitMs: number): void;
  /** A source permission no identity mapping can express (a sharing link), for the job summary. */
  onUnmappedGrant?(grant: UnmappedGrantSample): void;
}

export interface UnmappedGrantSample {
  path: string;
  /** `sharing_link` or `sharepoint_principal` (a SharePoint group). */
  reason: string;
  detail: string;
}

export type SourceFactory = (config: AnyConnectorConfig, ctx: SourceContext) => Promise<FileTree>;

/** Connector kind → the factory of its `Source`; the composition root registers what is available. */
export class SourceRegistry {
  private readonly factories = new Map<string, SourceFactory>();

  register(kind: string, factory: SourceFactory): this {
    this.factories.set(kind, factory);
    return this;
  }

  has(kind: string): boolean {
    return this.factories.has(kind);
  }

  async create(config: AnyConnectorConfig, ctx: SourceContext): Promise<FileTree> {
    const factory = this.factories.get(config.kind);
    if (!factory) {
      throw new AppError(
        ErrorCode.NOT_IMPLEMENTED,
        `This worker cannot sync connectors of kind "${config.kind}"`,
        { action: 'fail_job' },
      );
    }
    return factory(config, ctx);
  }
}
