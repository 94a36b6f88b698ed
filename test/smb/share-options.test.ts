import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId } from '@scaidrive/core';
import { probeSmb, type SmbSourceConfig } from '@scaidrive/connector-smb';
import { SmbClient } from '@scaidrive/smb-client';
import { startSamba, type SambaServer } from '@scaidrive/testkit';

/**
 * Per-share settings of a real Samba: a share that alone requires encryption (the server does
 * not), and a share the account may not open. The client must encrypt exactly that tree, and
 * `/test` must say what to fix.
 */
let samba: SambaServer;
let config: SmbSourceConfig;

beforeAll(async () => {
  samba = await startSamba({
    users: 1,
    shares: [
      { name: 'data' },
      { name: 'sealed', options: { 'smb encrypt': 'required' } },
      // Nobody logs on as root over SMB here: the main user is refused at tree connect.
      { name: 'locked', options: { 'valid users': 'root' } },
    ],
  });
  config = { id: newId('cnn'), ...samba.connectorFields(), basePath: '' };
}, 60_000);

afterAll(async () => {
  await samba?.cleanup();
});

describe('per-share settings', () => {
  it('encrypts the tree of a share that requires it, and only that one', async () => {
    const session = await SmbClient.connect(samba.clientOptions());
    try {
      expect(session.info?.encryption ?? false).toBe(false);
      const sealed = await session.openShare('sealed');
      const plain = await session.openShare('data');
      const data = randomBytes(300_000);
      await sealed.writeFile('x.bin', data);
      await plain.writeFile('x.bin', data);
      expect((await sealed.readFile('x.bin')).equals(data)).toBe(true);
      expect((await plain.readFile('x.bin')).equals(data)).toBe(true);
      expect(sealed.encrypted).toBe(true);
      expect(plain.encrypted).toBe(false);
      // On the server's disk, byte for byte.
      expect(readFileSync(samba.localPath('sealed', 'x.bin')).equals(data)).toBe(true);
    } finally {
      await session.close();
    }
    const probe = await probeSmb({ ...config, shareName: 'sealed' });
    expect(probe).toMatchObject({ success: true, details: { encryption: true } });
    expect(probe.message).toMatch(/encrypted/);
  });

  it('/test names a share the account may not open', async () => {
    const r = await probeSmb({ ...config, shareName: 'locked' });
    expect(r).toMatchObject({ success: false, error: 'CONNECTOR_AUTH_FAILED' });
    expect(r.message).toMatch(/logged on but may not open \\\\127\.0\.0\.1\\locked/);
    expect(r.message).toMatch(/Grant the account access to the share/);
    expect(r.message).not.toContain(samba.user.password);
  });
});
