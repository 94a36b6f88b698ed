import { AppError, ErrorCode, classifyError, type Logger } from '@scaidrive/core';
import type { Connector } from '@scaidrive/db';
import type {
  ConnectorDrivers,
  SharePointConnectorConfig,
  SmbConnectorConfig,
  TestErrorCode,
  TestOutcome,
} from '../drivers/types.js';
import type { ConnectorService } from './connectors.js';

const REPORTABLE = new Set<string>([
  'CONNECTOR_UNREACHABLE',
  'CONNECTOR_AUTH_FAILED',
  'CONNECTOR_SHARE_NOT_FOUND',
  'CONNECTOR_REAUTHORIZE',
  'CONNECTOR_THROTTLED',
  'CONNECTOR_ERROR',
  'TIMEOUT',
]);

export function notAvailable(what: string): AppError {
  return new AppError(
    ErrorCode.NOT_IMPLEMENTED,
    `${what} is not available: no driver for this connector kind is installed in this deployment`,
  );
}

/** `POST …/test`: runs the kind's driver with the decrypted config, bounded in time. */
export class ConnectorTestService {
  constructor(
    private readonly connectors: ConnectorService,
    private readonly drivers: ConnectorDrivers,
    private readonly timeoutMs: number,
  ) {}

  async run(connector: Connector, log: Logger): Promise<TestOutcome & { duration_ms: number }> {
    const driver = connector.kind === 'smb' ? this.drivers.smb : this.drivers.sharepoint;
    if (!driver) throw notAvailable('The connectivity test');
    const started = Date.now();
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<TestOutcome>((resolve) => {
      timer = setTimeout(() => {
        ac.abort(new AppError(ErrorCode.TIMEOUT, 'test timed out'));
        resolve({
          success: false,
          error: 'TIMEOUT',
          message: `No answer from the source within ${Math.round(this.timeoutMs / 1000)} s`,
        });
      }, this.timeoutMs);
    });
    const probe = (async (): Promise<TestOutcome> => {
      const config = this.connectors.driverConfig(connector);
      return connector.kind === 'smb'
        ? (driver as NonNullable<ConnectorDrivers['smb']>).test(
            config as SmbConnectorConfig,
            ac.signal,
          )
        : (driver as NonNullable<ConnectorDrivers['sharepoint']>).test(
            config as SharePointConnectorConfig,
            ac.signal,
          );
    })().catch((err: unknown): TestOutcome => {
      const c = classifyError(err);
      if (c.code === ErrorCode.INTERNAL) log.error('connector test failed unexpectedly', { err });
      const code = (REPORTABLE.has(c.code) ? c.code : 'CONNECTOR_ERROR') as TestErrorCode;
      return {
        success: false,
        error: code,
        message: c.code === ErrorCode.INTERNAL ? 'The test failed unexpectedly' : c.message,
      };
    });
    try {
      const outcome = await Promise.race([probe, timeout]);
      const result: TestOutcome & { duration_ms: number } = {
        success: outcome.success === true,
        message: outcome.message,
        error: outcome.success ? null : (outcome.error ?? 'CONNECTOR_ERROR'),
        duration_ms: Date.now() - started,
      };
      if (outcome.details) result.details = outcome.details;
      log.info('connector tested', {
        connector_id: connector.id,
        success: result.success,
        error: result.error,
      });
      return result;
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  }
}
