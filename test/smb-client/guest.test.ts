import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthFailedError, ErrorCode, newId } from '@scaidrive/core';
import { probeSmb } from '@scaidrive/connector-smb';
import { SmbClient } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';
import { expectCode } from './suite.js';

describe('guest sessions', () => {
  let samba: SambaServer;
  beforeAll(async () => {
    // Unknown users become guests on this server.
    samba = await startSamba({
      globals: { 'map to guest': 'Bad User', 'guest account': 'nobody' },
    });
  });
  afterAll(async () => {
    await samba?.cleanup();
  });

  it('refuses a guest login unless allowGuest is set', async () => {
    const opts = { ...samba.clientOptions(), username: 'no-such-user', password: 'whatever' };
    const err = await expectCode(SmbClient.connect(opts), ErrorCode.CONNECTOR_AUTH_FAILED);
    expect(err).toBeInstanceOf(AuthFailedError);
    expect(err.message).toMatch(/guest/);
    const s = await SmbClient.connect({ ...opts, allowGuest: true });
    expect(s.info?.signing).toBe(false);
    await s.close();
  });

  it('/test explains a guest logon offered for an unknown account', async () => {
    const r = await probeSmb({
      id: newId('cnn'),
      ...samba.connectorFields(),
      username: 'no-such-user',
      password: 'whatever',
      basePath: '',
    });
    expect(r).toMatchObject({ success: false, error: 'CONNECTOR_AUTH_FAILED' });
    expect(r.message).toMatch(/did not accept SDTEST\\no-such-user and offered a guest logon/);
    expect(r.message).toMatch(/Check username and domain/);
  });

  it('still authenticates real users normally', async () => {
    const s = await SmbClient.connect(samba.clientOptions());
    const t = await s.openShare('data');
    await t.writeFile('x.txt', Buffer.from('x'));
    expect((await t.readFile('x.txt')).toString()).toBe('x');
    await s.close();
  });
});
