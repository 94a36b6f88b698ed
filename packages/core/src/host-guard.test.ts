import { describe, expect, it } from '@jest/globals';
import { HostGuard } from './host-guard.js';

const dns: Record<string, string[]> = {
  'fs01.corp.example': ['10.1.2.3'],
  'evil.example': ['169.254.169.254'],
  'dual.example': ['10.1.2.3', '192.168.9.9'],
  'v6.example': ['fd00::5'],
  'mapped.example': ['::ffff:169.254.1.1'],
};
const resolver = async (h: string) => {
  const r = dns[h];
  if (!r) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return r;
};

describe('HostGuard', () => {
  const deny = new HostGuard(
    { deny: ['169.254.0.0/16', 'fe80::/10', 'blocked.example', '*.internal'] },
    resolver,
  );

  it('accepts ordinary hosts and addresses', async () => {
    expect((await deny.check('fs01.corp.example')).ok).toBe(true);
    expect((await deny.check('10.0.0.1')).ok).toBe(true);
    expect((await deny.check('[fd00::1]')).ok).toBe(true);
  });

  it('rejects denied literals, names, wildcards and resolved addresses', async () => {
    expect(await deny.check('169.254.169.254')).toEqual({
      ok: false,
      reason: expect.stringMatching(/deny-list/),
    });
    expect((await deny.check('fe80::1')).ok).toBe(false);
    expect((await deny.check('blocked.example')).ok).toBe(false);
    expect((await deny.check('db.internal')).ok).toBe(false);
    const v = await deny.check('evil.example');
    expect(v).toEqual({ ok: false, reason: expect.stringContaining('169.254.169.254') });
    expect((await deny.check('mapped.example')).ok).toBe(false);
  });

  it('rejects names that do not resolve and malformed hosts', async () => {
    expect(await deny.check('nowhere.example')).toEqual({
      ok: false,
      reason: 'does not resolve to an address',
      unresolved: true,
    });
    expect((await deny.check('bad host')).ok).toBe(false);
    expect((await deny.check('a/b')).ok).toBe(false);
  });

  it('with an allow-list, every resolved address must be allowed', async () => {
    const allow = new HostGuard(
      { allow: ['10.0.0.0/8', 'fd00::/8', 'nas.example'], deny: [] },
      resolver,
    );
    expect((await allow.check('fs01.corp.example')).ok).toBe(true);
    expect((await allow.check('v6.example')).ok).toBe(true);
    expect((await allow.check('dual.example')).ok).toBe(false);
    expect((await allow.check('192.168.1.1')).ok).toBe(false);
  });

  it('addressesFor: the checked addresses to connect to; refusals fail the job, DNS trouble is retried', async () => {
    const names: Record<string, string[]> = { 'fs.example': ['10.1.2.3', 'fd00::7'] };
    const guard = new HostGuard({ deny: ['169.254.0.0/16'] }, async (h) => {
      const a = names[h];
      if (!a) throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
      return a;
    });
    expect(await guard.addressesFor('fs.example')).toEqual(['10.1.2.3', 'fd00::7']);
    // The name now resolves to the metadata address (DNS rebinding after it was saved).
    names['fs.example'] = ['169.254.169.254'];
    await expect(guard.addressesFor('fs.example')).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      action: 'fail_job',
      message: expect.stringContaining('169.254.169.254, which is on the deny-list'),
    });
    // DNS is down for a moment: not the host's fault, and retried like any unreachable server.
    await expect(guard.addressesFor('gone.example')).rejects.toMatchObject({
      code: 'CONNECTOR_UNREACHABLE',
      action: 'retry',
    });
  });
});
