import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@scaidrive/core';

/** A logger whose JSON lines are kept in memory, so tests can assert on what was (not) logged. */
export function captureLogger(level = 'debug'): {
  logger: Logger;
  lines: string[];
  text(): string;
} {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger({ level, format: 'json', stream });
  return { logger, lines, text: () => lines.join('') };
}
