import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSecretKeySpec, parseSecretKeys, type SecretKey } from '@scaidrive/core';

/**
 * The embedded default's secret key: generated once into `DATA_DIR/secret-keys` (mode 600) and
 * reused, so secrets stored by one run decrypt in the next. Production sets SECRET_KEYS instead.
 */
export async function loadOrCreateSecretKeys(
  dataDir: string,
): Promise<{ keys: SecretKey[]; created: boolean }> {
  const file = path.join(dataDir, 'secret-keys');
  if (existsSync(file))
    return { keys: parseSecretKeys((await readFile(file, 'utf8')).trim()), created: false };
  await mkdir(dataDir, { recursive: true });
  const spec = generateSecretKeySpec('local1');
  await writeFile(file, `${spec}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { keys: parseSecretKeys(spec), created: true };
}
