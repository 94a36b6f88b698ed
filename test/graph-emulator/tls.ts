import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

/** A throw-away certificate authority and one server certificate for every emulator host. */
export interface TestPki {
  caPem: string;
  keyPem: string;
  certPem: string;
}

/**
 * Generates a CA and a server certificate (SAN: every loopback IP the emulator serves, plus
 * localhost) with the `openssl` command line tool, in a temp dir that is removed at once.
 */
export function generateTestPki(ips: string[]): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'graph-emu-pki-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=ScaiDrive Graph Emulator Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.pem',
    ]);
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key']);
    run(['req', '-new', '-key', 'server.key', '-subj', '/CN=graph-emulator', '-out', 'server.csr']);
    const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
    writeFileSync(
      path.join(dir, 'ext.cnf'),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    ]);
    return {
      caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'server.key'), 'utf8'),
      certPem: readFileSync(path.join(dir, 'server.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Makes this process (global fetch, https) trust the test CA besides the usual roots. Node 24:
 * `tls.setDefaultCACertificates`. Trusting more CAs is additive and harmless, so it is never undone.
 */
export function trustTestCa(caPem: string): void {
  const current = tls.getCACertificates('default');
  if (current.includes(caPem)) return;
  tls.setDefaultCACertificates([...current, caPem]);
}

/** A self-signed certificate + key for an app registration's certificate credential. */
export function generateClientCertificate(cn = 'scaidrive-connector'): {
  certPem: string;
  keyPem: string;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'graph-emu-client-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    return {
      certPem: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
