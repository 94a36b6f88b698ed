import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, ErrorCode } from '@scaidrive/core';
import { SmbClient } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

/**
 * `resolveAddress`: the name stays the server's name (SPN, UNC paths) while the TCP connection goes
 * to the address the hook returns — asked on every connect, its refusal final.
 */
describe('resolveAddress', () => {
  let samba: SambaServer;
  beforeAll(async () => {
    samba = await startSamba();
  });
  afterAll(async () => {
    await samba?.cleanup();
  });

  it('connects to the returned address under the configured name', async () => {
    const asked: string[] = [];
    const opts = samba.clientOptions();
    const s = await SmbClient.connect({
      ...opts,
      host: 'fileserver.invalid', // resolves nowhere: only the hook can make this work
      resolveAddress: async (host) => {
        asked.push(host);
        return opts.host;
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
      resolveAddress: async () => {
        calls++;
        throw refused;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(refused);
    expect(calls).toBe(1);
  });
});
