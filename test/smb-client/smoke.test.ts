import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmbClient } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

describe('smoke', () => {
  let samba: SambaServer;
  beforeAll(async () => {
    samba = await startSamba();
  });
  afterAll(async () => {
    await samba?.cleanup();
  });
  it('connects and lists', async () => {
    const s = await SmbClient.connect(samba.clientOptions());
    console.log(s.info);
    const t = await s.openShare('data').catch((e) => {
      console.log(samba.readLog());
      throw e;
    });
    await t.writeFile('hello.txt', Buffer.from('hello world'));
    console.log(await t.readdir(''));
    console.log(await t.stat('hello.txt'));
    expect((await t.readFile('hello.txt')).toString()).toBe('hello world');
    console.log(await samba.smbclientOk('data', 'ls'));
    await s.close();
  });
});
