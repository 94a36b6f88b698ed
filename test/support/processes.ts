import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './pg-admin.js';

export interface ChildApp {
  proc: ChildProcess;
  /** Parsed JSON log lines (non-JSON lines are kept as `{ raw }`). */
  logs: Record<string, unknown>[];
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** The last `count` log lines, one JSON object per line — for failure messages. */
  tail(count?: number): string;
}

const ENTRIES = {
  worker: 'apps/worker/src/main.ts',
  api: 'apps/api/src/main.ts',
  standalone: 'apps/standalone/src/main.ts',
} as const;

/**
 * Runs an app as a real child process from its TypeScript sources (the `source` export condition
 * + tsx), with JSON logs captured. Tests kill it with real signals.
 */
export function spawnApp(app: keyof typeof ENTRIES, env: Record<string, string>): ChildApp {
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', path.join(repoRoot, ENTRIES[app])],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        LOG_FORMAT: 'json',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  const onLine = (text: string): void => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { raw: text };
    }
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.pred(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (text) onLine(text);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    logs,
    exited,
    tail: (count) => tailOf(logs, count),
    kill: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    waitForLog(predicate, timeoutMs = 60_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          const tail = tailOf(logs);
          reject(new Error(`timed out waiting for a log line; last lines:\n${tail}`));
        }, timeoutMs);
        waiters.push({
          pred: predicate,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then(({ code, signal }) => {
          const tail = tailOf(logs);
          clearTimeout(t);
          reject(
            new Error(
              `process exited (${code ?? signal}) before the log line; last lines:\n${tail}`,
            ),
          );
        });
      });
    },
  };
}

function tailOf(logs: Record<string, unknown>[], count = 15): string {
  return logs
    .slice(-count)
    .map((l) => JSON.stringify(l))
    .join('\n');
}
