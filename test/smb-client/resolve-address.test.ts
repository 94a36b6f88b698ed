import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, ErrorCode } from '@scaidrive/core';
import { SmbClient } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

/**
 * `resolveAddresses`: the name stays the server's name (SPN, UNC paths) while the TCP connection goes
 * to the addresses the hook returns, in order — asked on every connect, its refusal final.
 */
describe('resolveAddresses', () => {
  let samba: SambaServer;
  beforeAll(async () => {
    samba = await startSamba();
  });
  afterAll(async () => {
    await samba?.cleanup();
  });

  it('connects to the first returned address that answers, under the configured name', async () => {
    const asked: string[] = [];
    const opts = samba.clientOptions();
    const s = await SmbClient.connect({
      ...opts,
      host: 'fileserver.invalid', // resolves nowhere: only the hook can make this work
      resolveAddresses: async (host) => {
        asked.push(host);
        // Nothing listens on 127.0.0.2 (smbd binds 127.0.0.1): the next address is tried.
        return ['127.0.0.2', opts.host];
      },
    });
    const t = await s.openShare('data');
    await t.writeFile('via-hook.txt', Buffer.from('ok'));
    expect((await t.readFile('via-hook.txt')).toString()).toBe('ok');
    // A reconnect asks again (the answer may have changed).
    await s.reconnect();
    expect((await t.readFile('via-hook.txt')).toString()).toBe('ok');
    expect(asked).toEqual(['fileserver.invalid', 'fileserver.invalid']);
    await s.close();
  });

  it('a refusal ends the connect at once, with the refusal', async () => {
    let calls = 0;
    const refused = new AppError(ErrorCode.CONFIG_INVALID, 'server_host "x" is on the deny-list', {
      action: 'fail_job',
    });
    const err = await SmbClient.connect({
      ...samba.clientOptions(),
      resolveAddresses: async () => {
        calls++;
        throw refused;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(refused);
    expect(calls).toBe(1);
  });
});
