import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A private Samba server for tests: its own smb.conf in a temp dir, every state path under it, a
 * free loopback port, its own Unix users (unique names, so jest workers never collide), and helpers
 * to use `smbclient` / `smbcacls` as an oracle. Runs as root (the test machines do).
 */

export interface SambaUser {
  username: string;
  password: string;
  /** The workgroup, used as the NTLM domain (a "domain-style" principal DOMAIN\user). */
  domain: string;
  uid: number;
}

export interface SambaShareSpec {
  name: string;
  /** Extra share options (e.g. `{ 'smb encrypt': 'required' }`). */
  options?: Record<string, string>;
}

export interface SambaOptions {
  /** `server signing = mandatory`. */
  signing?: 'default' | 'mandatory';
  /** `server min protocol`, e.g. SMB3_11. */
  minProtocol?: string;
  /** `server smb encrypt`, e.g. required. */
  encrypt?: 'default' | 'desired' | 'required';
  /** Extra [global] options. */
  globals?: Record<string, string>;
  /** Shares (default: one share `data`). Each gets a directory owned by the first user. */
  shares?: SambaShareSpec[];
  /** Number of users to create (default 2: the main user and a second one). */
  users?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SambaServer {
  host: '127.0.0.1';
  port: number;
  workgroup: string;
  netbiosName: string;
  dir: string;
  confPath: string;
  /** Main user (owner of the share directories) and any extra users. */
  user: SambaUser;
  users: SambaUser[];
  /** Share name → directory on disk. */
  shares: Record<string, string>;
  /** Local path of a file inside a share. */
  localPath(share: string, rel?: string): string;
  /** Runs smbclient against a share with `-c <commands>` as the main user. */
  smbclient(
    share: string,
    commands: string,
    opts?: { user?: SambaUser; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** Like smbclient but throws when the exit code is non-zero or output reports NT_STATUS errors. */
  smbclientOk(share: string, commands: string, opts?: { user?: SambaUser }): Promise<string>;
  /** Runs smbcacls for a path in a share with extra args. */
  smbcacls(share: string, relPath: string, args: string[]): Promise<ExecResult>;
  /** Options for the client library (host, port, domain, username, password). */
  clientOptions(user?: SambaUser): {
    host: string;
    port: number;
    domain: string;
    username: string;
    password: string;
  };
  /** The connection fields of an SMB connector configuration (`SmbSourceConfig`) for a share. */
  connectorFields(
    share?: string,
    user?: SambaUser,
  ): {
    serverHost: string;
    serverPort: number;
    shareName: string;
    domain: string;
    username: string;
    password: string;
  };
  /** Stops smbd (SIGTERM to the process group) and waits. */
  stop(): Promise<void>;
  /** SIGKILLs smbd and every child serving a connection. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT smbd (an unresponsive server for timeout tests). */
  pause(): void;
  resume(): void;
  /** Starts smbd again on the same port. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops smbd, removes the temp dir and the Unix users. */
  cleanup(): Promise<void>;
  /** smbd log (for failure diagnostics). */
  readLog(): string;
}

function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

async function mustRun(
  cmd: string,
  args: string[],
  opts: { input?: string } = {},
): Promise<ExecResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

/** useradd/userdel lock /etc/passwd; two workers may collide, so retry. */
async function retryLocked(cmd: string, args: string[]): Promise<ExecResult> {
  for (let i = 0; ; i++) {
    const r = await run(cmd, args);
    if (r.code === 0 || i >= 40 || !/lock|try again/i.test(r.stderr)) return r;
    await new Promise((res) => setTimeout(res, 50 + Math.random() * 150));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function confText(
  o: SambaOptions,
  dir: string,
  port: number,
  workgroup: string,
  netbiosName: string,
  shares: Record<string, string>,
): string {
  const g: Record<string, string> = {
    workgroup,
    'netbios name': netbiosName,
    'server role': 'standalone server',
    security: 'user',
    'passdb backend': `tdbsam:${dir}/private/passdb.tdb`,
    'private dir': `${dir}/private`,
    'lock directory': `${dir}/lock`,
    'state directory': `${dir}/state`,
    'cache directory': `${dir}/cache`,
    'pid directory': `${dir}/pid`,
    'ncalrpc dir': `${dir}/ncalrpc`,
    'binddns dir': `${dir}/bind-dns`,
    'log file': `${dir}/log/smbd.log`,
    'log level': '1',
    'max log size': '0',
    'smb ports': String(port),
    interfaces: 'lo',
    'bind interfaces only': 'yes',
    'disable netbios': 'yes',
    'load printers': 'no',
    printing: 'bsd',
    'printcap name': '/dev/null',
    'disable spoolss': 'yes',
    'map to guest': 'never',
    'restrict anonymous': '2',
    'server min protocol': o.minProtocol ?? 'SMB2_02',
    'server signing': o.signing ?? 'default',
    'server smb encrypt': o.encrypt ?? 'default',
    'smb2 leases': 'no',
    'kernel oplocks': 'no',
    'client min protocol': 'SMB2_02',
    ...o.globals,
  };
  const lines = ['[global]', ...Object.entries(g).map(([k, v]) => `  ${k} = ${v}`)];
  const specs = o.shares ?? [{ name: 'data' }];
  for (const s of specs) {
    const opts: Record<string, string> = {
      path: shares[s.name]!,
      'read only': 'no',
      browseable: 'yes',
      'store dos attributes': 'yes',
      'ea support': 'yes',
      'vfs objects': 'acl_xattr',
      'map acl inherit': 'yes',
      'create mask': '0664',
      'directory mask': '0775',
      ...s.options,
    };
    lines.push(`[${s.name}]`, ...Object.entries(opts).map(([k, v]) => `  ${k} = ${v}`));
  }
  return lines.join('\n') + '\n';
}

/**
 * smbcacls (4.17) always dials port 445/139. Forward a unique loopback address's port 445 to the
 * private smbd so the oracle works without a fixed port (parallel-safe: one address per server).
 */
async function startForwarder(target: () => number): Promise<{ address: string; server: Server }> {
  for (let attempt = 0; ; attempt++) {
    const b = randomBytes(3);
    const address = `127.${(b[0]! % 250) + 2}.${b[1]}.${(b[2]! % 250) + 2}`;
    const server = createServer((sock) => {
      const up = connect({ host: '127.0.0.1', port: target() });
      sock.pipe(up).pipe(sock);
      const end = () => {
        sock.destroy();
        up.destroy();
      };
      sock.on('error', end);
      up.on('error', end);
      sock.on('close', end);
      up.on('close', end);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(445, address, () => resolve());
      });
      return { address, server };
    } catch (err) {
      if (attempt >= 5)
        throw new Error(
          `smbcacls oracle: cannot listen on ${address}:445 (${(err as Error).message}); is a system smbd bound to 0.0.0.0:445?`,
          { cause: err },
        );
    }
  }
}

let vfsModulesChecked = false;
/**
 * The shares use the acl_xattr VFS module (NT ACLs). Without it smbd lists the share but refuses
 * every tree connect (NT_STATUS_BAD_NETWORK_NAME), which reads like a client bug; say what is missing.
 */
function assertAclXattrModule(): void {
  if (vfsModulesChecked) return;
  const build = execFileSync('smbd', ['-b'], { encoding: 'utf8' });
  const modulesDir = /MODULESDIR:\s*(\S+)/.exec(build)?.[1];
  if (modulesDir && !existsSync(path.join(modulesDir, 'vfs', 'acl_xattr.so')))
    throw new Error(
      `Samba's acl_xattr VFS module is missing (${modulesDir}/vfs/acl_xattr.so): install the samba-vfs-modules package (apt-get install samba-vfs-modules)`,
    );
  vfsModulesChecked = true;
}

/** Starts a private smbd; call `cleanup()` in afterAll. */
export async function startSamba(o: SambaOptions = {}): Promise<SambaServer> {
  assertAclXattrModule();
  const tag = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), `sdt-samba-${tag}-`));
  chmodSync(dir, 0o755);
  for (const d of [
    'private',
    'lock',
    'state',
    'cache',
    'pid',
    'ncalrpc',
    'log',
    'shares',
    'bind-dns',
  ])
    mkdirSync(path.join(dir, d), { recursive: true });
  const workgroup = 'SDTEST';
  const netbiosName = `SDT${tag}`.toUpperCase().slice(0, 15);
  const users: SambaUser[] = [];
  const nUsers = o.users ?? 2;
  for (let i = 0; i < nUsers; i++) {
    const username = `sdt${tag}u${i}`;
    const password = `Pw-${randomBytes(6).toString('hex')}!`;
    const r = await retryLocked('useradd', [
      '-M',
      '-N',
      '-s',
      '/usr/sbin/nologin',
      '-d',
      '/nonexistent',
      username,
    ]);
    if (r.code !== 0) throw new Error(`useradd ${username} failed: ${r.stderr}`);
    const id = await mustRun('id', ['-u', username]);
    users.push({ username, password, domain: workgroup, uid: Number(id.stdout.trim()) });
  }
  const shares: Record<string, string> = {};
  for (const s of o.shares ?? [{ name: 'data' }]) {
    const p = path.join(dir, 'shares', s.name);
    mkdirSync(p, { recursive: true });
    chownSync(p, users[0]!.uid, 100);
    chmodSync(p, 0o775);
    shares[s.name] = p;
  }
  let port = await freePort();
  const confPath = path.join(dir, 'smb.conf');
  writeFileSync(confPath, confText(o, dir, port, workgroup, netbiosName, shares));
  for (const u of users) {
    await mustRun('smbpasswd', ['-c', confPath, '-s', '-a', u.username], {
      input: `${u.password}\n${u.password}\n`,
    });
  }
  const authFile = (u: SambaUser) => {
    const f = path.join(dir, `auth-${u.username}`);
    writeFileSync(
      f,
      `username = ${u.username}\npassword = ${u.password}\ndomain = ${workgroup}\n`,
      { mode: 0o600 },
    );
    return f;
  };

  let exited: Promise<void> = Promise.resolve();
  /** smbd and its per-connection children share one process group (the spawned child's pid). */
  let pgid: number | undefined;

  const start = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const c = spawn('smbd', ['--foreground', '--no-process-group', '-s', confPath], {
        detached: true,
        stdio: 'ignore',
      });
      pgid = c.pid;
      exited = new Promise((res) => c.once('exit', () => res()));
      let dead = false;
      c.once('exit', () => (dead = true));
      const deadline = Date.now() + 15_000;
      while (!dead && Date.now() < deadline) {
        if (await canConnect(port)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      await signalGroup('SIGKILL');
      // Port taken by someone else in between: pick another one.
      if (attempt >= 2) throw new Error(`smbd did not start: ${readLog().slice(-2000)}`);
      port = await freePort();
      writeFileSync(confPath, confText(o, dir, port, workgroup, netbiosName, shares));
      server.port = port;
    }
  };

  const groupAlive = (): boolean => {
    if (pgid === undefined) return false;
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signalGroup = async (sig: NodeJS.Signals) => {
    if (pgid === undefined) return;
    try {
      process.kill(-pgid, sig);
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + 10_000;
    while (groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (groupAlive()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    pgid = undefined;
  };

  const readLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'log', 'smbd.log'), 'utf8');
    } catch {
      return '';
    }
  };

  let forwarder: { address: string; server: Server } | undefined;
  const server: SambaServer = {
    host: '127.0.0.1',
    port,
    workgroup,
    netbiosName,
    dir,
    confPath,
    user: users[0]!,
    users,
    shares,
    localPath: (share, rel = '') => path.join(shares[share]!, rel),
    smbclient: (share, commands, opts = {}) =>
      run(
        'smbclient',
        [
          `//127.0.0.1/${share}`,
          '-s',
          confPath,
          '-p',
          String(server.port),
          '-A',
          authFile(opts.user ?? users[0]!),
          '-c',
          commands,
        ],
        { timeoutMs: opts.timeoutMs ?? 600_000 },
      ),
    smbclientOk: async (share, commands, opts = {}) => {
      const r = await server.smbclient(share, commands, opts);
      if (r.code !== 0 || /NT_STATUS_[A-Z_]+/.test(r.stdout + r.stderr)) {
        throw new Error(`smbclient ${commands} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
      }
      return r.stdout;
    },
    smbcacls: async (share, relPath, args) => {
      forwarder ??= await startForwarder(() => server.port);
      return run('smbcacls', [
        `//${forwarder.address}/${share}`,
        relPath,
        '-s',
        confPath,
        '-A',
        authFile(users[0]!),
        ...args,
      ]);
    },
    clientOptions: (u = users[0]!) => ({
      host: '127.0.0.1',
      port: server.port,
      domain: workgroup,
      username: u.username,
      password: u.password,
    }),
    connectorFields: (share = 'data', u = users[0]!) => ({
      serverHost: '127.0.0.1',
      serverPort: server.port,
      shareName: share,
      domain: workgroup,
      username: u.username,
      password: u.password,
    }),
    stop: () => signalGroup('SIGTERM'),
    pause: () => {
      if (pgid !== undefined) process.kill(-pgid, 'SIGSTOP');
    },
    resume: () => {
      if (pgid !== undefined) process.kill(-pgid, 'SIGCONT');
    },
    kill: () => signalGroup('SIGKILL'),
    start,
    restart: async () => {
      await signalGroup('SIGTERM');
      await start();
    },
    cleanup: async () => {
      if (pgid !== undefined) {
        try {
          process.kill(-pgid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      const fw = forwarder;
      forwarder = undefined;
      if (fw) await new Promise((r) => fw.server.close(() => r(undefined)));
      await signalGroup('SIGKILL');
      for (const u of users) await retryLocked('userdel', [u.username]);
      rmSync(dir, { recursive: true, force: true });
    },
    readLog,
  };
  try {
    await start();
  } catch (err) {
    await server.cleanup();
    throw err;
  }
  return server;
}
