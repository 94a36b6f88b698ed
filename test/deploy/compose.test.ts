import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import YAML from 'yaml';
import { CONFIG_VARS, loadConfig } from '@scaidrive/core';
import { readText, repoRoot } from './support.js';

/**
 * deploy/compose (no Docker engine here, so `docker compose config` cannot run): the file parses,
 * mirrors the Kubernetes topology, hardens the app containers the same way, and gives them a valid
 * configuration. The sample Samba server's Dockerfile lints and its smb.conf passes `testparm`.
 */

const compose = YAML.parse(readText('deploy/compose/compose.yaml'), { merge: true }) as any;
const services = compose.services as Record<
  string,
  Record<string, unknown> & { environment?: Record<string, string> }
>;
const APP = ['migrate', 'api', 'worker'];
const seconds = (s: unknown) => Number(/^(\d+)s$/.exec(String(s))?.[1] ?? NaN);

describe('deploy/compose/compose.yaml', () => {
  it('has the Kubernetes topology: postgres → migrate → api + 2 workers, samba, optional minio', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'minio', 'minio-bucket', 'postgres', 'samba', 'worker'].sort(),
    );
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(services.api!.command).toEqual(['api']);
    expect(services.worker!.command).toEqual(['worker']);
    expect((services.worker!.deploy as { replicas: number }).replicas).toBe(2);
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const s of ['api', 'worker'])
      expect(services[s]!.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
      });
    expect(services.minio!.profiles).toEqual(['s3']);
    expect(services['minio-bucket']!.profiles).toEqual(['s3']);
    expect(services.api!.ports).toEqual(['8080:8080']);
  });

  it('runs every role from the one image, hardened like the Kubernetes pods', () => {
    for (const s of APP) {
      const svc = services[s]!;
      expect(svc.image).toBe('${SCAIDRIVE_IMAGE:-scaidrive/connectors:local}');
      expect(svc.build).toEqual({ context: '../..', dockerfile: 'deploy/Dockerfile' });
      expect([s, svc.read_only, svc.user, svc.cap_drop, svc.tmpfs]).toEqual([
        s,
        true,
        '10001:10001',
        ['ALL'],
        ['/tmp'],
      ]);
      expect(svc.security_opt).toContain('no-new-privileges:true');
    }
    expect(existsSync(path.join(repoRoot, 'deploy', 'Dockerfile'))).toBe(true);
  });

  it('gives the app a valid configuration and the workers a stop grace above their shutdown budget', () => {
    for (const s of APP) {
      const env = { ...services[s]!.environment! };
      for (const k of Object.keys(env)) expect([s, k, k in CONFIG_VARS]).toEqual([s, k, true]);
      // Interpolated values as compose would fill them with the documented defaults.
      const filled = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [
          k,
          k === 'SECRET_KEYS'
            ? `k1:${Buffer.alloc(32, 7).toString('base64')}`
            : String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'),
        ]),
      );
      expect(() => loadConfig(filled)).not.toThrow();
      expect(String(env.SECRET_KEYS)).toMatch(/^\$\{SECRET_KEYS:\?/); // required, never committed
    }
    const shutdown = Number(services.worker!.environment!.SHUTDOWN_TIMEOUT_SECONDS);
    expect(seconds(services.worker!.stop_grace_period)).toBeGreaterThan(shutdown);
    expect(seconds(services.api!.stop_grace_period)).toBeGreaterThan(25);
  });

  it('builds a lint-clean sample Samba server with a valid smb.conf', () => {
    expect(validate(readText('deploy/compose/samba/Dockerfile'))).toEqual([]);
    const testparm = spawnSync(
      'testparm',
      ['-s', path.join(repoRoot, 'deploy/compose/samba/smb.conf')],
      {
        encoding: 'utf8',
      },
    );
    if (testparm.error) return; // samba-common-bin not installed (CI installs samba)
    expect(testparm.status).toBe(0);
    expect(testparm.stdout).toContain('[projects]');
    expect(testparm.stderr).not.toMatch(/Unknown parameter|Ignoring unknown/);
  });
});
