import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { AppError, ErrorCode } from '@scaidrive/core';
import { SmbClient } from './client.js';
import { SmbCipher, CipherId } from './crypto/cipher.js';
import { parseSecurityDescriptor } from './dtyp/security-descriptor.js';
import { encodeSid } from './dtyp/sid.js';
import {
  parseAllInfo,
  parseCreateResponse,
  parseFileNotifyInformation,
  parseIdBothDirectoryInformation,
  parseIoctlResponse,
  parseOutputBuffer,
  parseReadResponse,
  parseWriteResponse,
} from './messages/file.js';
import {
  encodeNegotiateRequest,
  parseNegotiateResponse,
  type NegotiateRequestOptions,
} from './messages/negotiate.js';
import { parseSessionSetupResponse, parseTreeConnectResponse } from './messages/session.js';
import { encodeAvPairs, parseChallenge } from './ntlm/messages.js';
import { parseBindAck, parsePdu, responseStub } from './rpc/dcerpc.js';
import { parseLookupNames, parseLookupSids2 } from './rpc/lsa.js';
import { NdrWriter } from './rpc/ndr.js';
import { parseNegTokenInitMechs, parseNegTokenResp } from './spnego/spnego.js';
import { tlv, encodeOid } from './spnego/der.js';
import { FrameDecoder, FrameReceiver } from './wire/framing.js';
import { readHeader, splitCompound, writeHeader } from './wire/header.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(rand: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (Math.floor(rand() * 5)) {
    case 0:
      return b.subarray(0, Math.floor(rand() * b.length)); // truncate
    case 1: {
      const n = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < n && b.length; i++)
        b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      return b;
    }
    case 2: {
      // Plant an extreme 16/32-bit value (lengths, offsets, counts).
      if (b.length < 4) return b;
      const at = Math.floor(rand() * (b.length - 3));
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 0x10000, b.length, b.length + 1][
        Math.floor(rand() * 7)
      ]!;
      if (rand() < 0.5) b.writeUInt32LE(v >>> 0, at);
      else b.writeUInt16LE(v & 0xffff, at);
      return b;
    }
    case 3:
      return Buffer.concat([
        b,
        Buffer.from(
          Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
        ),
      ]);
    default: {
      const r = Buffer.alloc(Math.floor(rand() * (b.length + 16)));
      for (let i = 0; i < r.length; i++) r[i] = Math.floor(rand() * 256);
      return r;
    }
  }
}

function message(command: number, body: Buffer): Buffer {
  const h = Buffer.alloc(64);
  writeHeader(h, {
    command,
    creditCharge: 1,
    creditRequest: 1,
    flags: 1,
    messageId: 1n,
    sessionId: 1n,
  });
  return Buffer.concat([h, body]);
}

const negOpts: NegotiateRequestOptions = {
  dialects: [0x202, 0x210, 0x300, 0x302, 0x311],
  signingRequired: false,
  clientGuid: Buffer.alloc(16, 1),
  serverName: 'srv',
  ciphers: [1, 2, 3, 4],
  signingAlgorithms: [0, 1, 2],
};

function negotiateResponse(): Buffer {
  const ctx = (type: number, data: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(data.length, 2);
    const pad = Buffer.alloc((8 - ((8 + data.length) % 8)) % 8);
    return Buffer.concat([h, data, pad]);
  };
  const token = Buffer.from('60283a', 'hex');
  const body = Buffer.alloc(64);
  body.writeUInt16LE(65, 0);
  body.writeUInt16LE(0x311, 4);
  body.writeUInt16LE(3, 6);
  body.writeUInt32LE(8 << 20, 28);
  body.writeUInt32LE(8 << 20, 32);
  body.writeUInt32LE(8 << 20, 36);
  body.writeUInt16LE(128, 56);
  body.writeUInt16LE(token.length, 58);
  const ctxOff = 128 + 8;
  body.writeUInt32LE(ctxOff, 60);
  const pre = Buffer.alloc(38);
  pre.writeUInt16LE(1, 0);
  pre.writeUInt16LE(32, 2);
  pre.writeUInt16LE(1, 4);
  const enc = Buffer.from([1, 0, 2, 0]);
  const sig = Buffer.from([1, 0, 2, 0]);
  return message(
    0,
    Buffer.concat([body, token, Buffer.alloc(5), ctx(1, pre), ctx(2, enc), ctx(8, sig)]),
  );
}

function dirInfo(): Buffer {
  const entry = (name: string, last: boolean) => {
    const n = Buffer.from(name, 'utf16le');
    const len = (104 + n.length + 7) & ~7;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(last ? 0 : len, 0);
    b.writeBigUInt64LE(5n, 40);
    b.writeUInt32LE(0x20, 56);
    b.writeUInt32LE(n.length, 60);
    b.writeBigUInt64LE(77n, 96);
    n.copy(b, 104);
    return b;
  };
  return Buffer.concat([entry('a.txt', false), entry('hidden file.txt', false), entry('z', true)]);
}

function securityDescriptor(): Buffer {
  const owner = encodeSid('S-1-5-21-1-2-3-1000');
  const group = encodeSid('S-1-5-21-1-2-3-513');
  const ace = (type: number, sid: string) => {
    const s = encodeSid(sid);
    const b = Buffer.alloc(8 + s.length);
    b[0] = type;
    b[1] = 0x13;
    b.writeUInt16LE(b.length, 2);
    b.writeUInt32LE(0x1f01ff, 4);
    s.copy(b, 8);
    return b;
  };
  const aces = Buffer.concat([ace(0, 'S-1-1-0'), ace(1, 'S-1-5-21-1-2-3-1001')]);
  const acl = Buffer.alloc(8);
  acl[0] = 2;
  acl.writeUInt16LE(8 + aces.length, 2);
  acl.writeUInt16LE(2, 4);
  const head = Buffer.alloc(20);
  head[0] = 1;
  head.writeUInt16LE(0x8004, 2);
  head.writeUInt32LE(20, 4);
  head.writeUInt32LE(20 + owner.length, 8);
  head.writeUInt32LE(20 + owner.length + group.length, 16);
  return Buffer.concat([head, owner, group, acl, aces]);
}

function lookupSidsStub(): Buffer {
  const w = new NdrWriter();
  w.ref().u32(1).ref().u32(1).u32(1);
  const dom = w.unicodeStringHeader('DOM');
  w.ref();
  dom();
  w.sid('S-1-5-21-1-2-3');
  w.u32(1).ref().u32(1);
  w.u16(1).u16(0);
  const name = w.unicodeStringHeader('alice');
  w.u32(0).u32(0);
  name();
  w.u32(1).u32(0);
  return w.finish();
}

function challenge(): Buffer {
  const ti = encodeAvPairs([
    { id: 1, value: Buffer.from('SRV', 'utf16le') },
    { id: 7, value: Buffer.alloc(8, 1) },
  ]);
  const ch = Buffer.alloc(56 + ti.length);
  ch.write('NTLMSSP\0', 0, 'latin1');
  ch.writeUInt32LE(2, 8);
  ch.writeUInt32LE(0xe2898215, 20);
  ch.writeUInt16LE(ti.length, 40);
  ch.writeUInt16LE(ti.length, 42);
  ch.writeUInt32LE(56, 44);
  ti.copy(ch, 56);
  return ch;
}

function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 5;
  h[2] = type;
  h[3] = 3;
  h.writeUInt32LE(0x10, 4);
  h.writeUInt16LE(16 + body.length, 8);
  h.writeUInt32LE(1, 12);
  return Buffer.concat([h, body]);
}

const outBuf = (data: Buffer) => {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(9, 0);
  b.writeUInt16LE(72, 2);
  b.writeUInt32LE(data.length, 4);
  return message(0x0e, Buffer.concat([b, data]));
};

const cases: { name: string; sample: Buffer; parse: (b: Buffer) => unknown }[] = [
  {
    name: 'NEGOTIATE response',
    sample: negotiateResponse(),
    parse: (b) => parseNegotiateResponse(b, negOpts),
  },
  {
    name: 'SESSION_SETUP response',
    sample: message(1, Buffer.from([9, 0, 0, 0, 72, 0, 3, 0, 0xa1, 0x01, 0x00])),
    parse: parseSessionSetupResponse,
  },
  {
    name: 'TREE_CONNECT response',
    sample: message(3, Buffer.alloc(16, 0).fill(16, 0, 1)),
    parse: parseTreeConnectResponse,
  },
  {
    name: 'CREATE response',
    sample: message(5, Buffer.concat([Buffer.from([89, 0]), Buffer.alloc(87, 0)])),
    parse: parseCreateResponse,
  },
  {
    name: 'READ response',
    sample: message(
      8,
      Buffer.concat([
        Buffer.from([17, 0, 80, 0, 5, 0, 0, 0]),
        Buffer.alloc(8),
        Buffer.from('hello'),
      ]),
    ),
    parse: parseReadResponse,
  },
  {
    name: 'WRITE response',
    sample: message(9, Buffer.from([17, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    parse: parseWriteResponse,
  },
  {
    name: 'QUERY_DIRECTORY output',
    sample: outBuf(dirInfo()),
    parse: (b) => parseIdBothDirectoryInformation(parseOutputBuffer(b, 'q')),
  },
  { name: 'directory entries', sample: dirInfo(), parse: parseIdBothDirectoryInformation },
  { name: 'FileAllInformation', sample: Buffer.alloc(100, 0), parse: parseAllInfo },
  { name: 'security descriptor', sample: securityDescriptor(), parse: parseSecurityDescriptor },
  {
    name: 'notify information',
    sample: Buffer.from('0000000001000000040000006100620000000000', 'hex'),
    parse: parseFileNotifyInformation,
  },
  {
    name: 'IOCTL response',
    sample: message(0x0b, Buffer.concat([Buffer.from([49, 0]), Buffer.alloc(46)])),
    parse: parseIoctlResponse,
  },
  { name: 'NTLM challenge', sample: challenge(), parse: parseChallenge },
  {
    name: 'SPNEGO NegTokenResp',
    sample: tlv(
      0xa1,
      tlv(
        0x30,
        tlv(0xa0, tlv(0x0a, Buffer.of(1))),
        tlv(0xa1, encodeOid('1.3.6.1.4.1.311.2.2.10')),
        tlv(0xa2, tlv(0x04, challenge())),
      ),
    ),
    parse: parseNegTokenResp,
  },
  {
    name: 'SPNEGO NegTokenInit2',
    sample: tlv(
      0x60,
      encodeOid('1.3.6.1.5.5.2'),
      tlv(0xa0, tlv(0x30, tlv(0xa0, tlv(0x30, encodeOid('1.3.6.1.4.1.311.2.2.10'))))),
    ),
    parse: parseNegTokenInitMechs,
  },
  { name: 'LsarLookupSids2 stub', sample: lookupSidsStub(), parse: parseLookupSids2 },
  { name: 'LsarLookupNames stub', sample: lookupSidsStub(), parse: parseLookupNames },
  {
    name: 'DCE/RPC response',
    sample: pdu(2, Buffer.concat([Buffer.alloc(8), Buffer.from('stub')])),
    parse: (b) => responseStub(parsePdu(b)),
  },
  {
    name: 'DCE/RPC bind_ack',
    sample: pdu(12, Buffer.from('b810b8100000000004003133350000000100000000000000', 'hex')),
    parse: (b) => parseBindAck(parsePdu(b)),
  },
  {
    name: 'compound split + headers',
    sample: Buffer.concat([negotiateResponse(), Buffer.alloc(0)]),
    parse: (b) => splitCompound(b).map((m) => readHeader(m)),
  },
  {
    name: 'transform header',
    sample: Buffer.concat(
      new SmbCipher(CipherId.AES_128_GCM, Buffer.alloc(16, 1), Buffer.alloc(16, 2)).encrypt(
        [negotiateResponse()],
        1n,
      ),
    ),
    parse: (b) =>
      new SmbCipher(CipherId.AES_128_GCM, Buffer.alloc(16, 2), Buffer.alloc(16, 1)).decrypt(b, 1n),
  },
];

describe('parser fuzzing: malformed and truncated server data → typed PROTOCOL_ERROR only', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    // The untouched sample parses.
    expect(() => c.parse(c.sample)).not.toThrow();
    const rand = prng(0x5eed ^ (c.name.length * 7919));
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const input = mutate(rand, c.sample);
      try {
        c.parse(input);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== ErrorCode.PROTOCOL_ERROR) {
          throw new Error(
            `iteration ${i}: ${String(err)} for ${input.toString('hex').slice(0, 200)}`,
            { cause: err },
          );
        }
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });

  it('framing: any chunking gives the same frames; bad headers and huge lengths are rejected', () => {
    const rand = prng(42);
    const frames = [Buffer.from('abc'), Buffer.alloc(70_000, 7), Buffer.alloc(0), Buffer.from('z')];
    const wire = Buffer.concat(
      frames.flatMap((f) => [
        Buffer.from([0, f.length >> 16, (f.length >> 8) & 255, f.length & 255]),
        f,
      ]),
    );
    for (let iter = 0; iter < 200; iter++) {
      const got: Buffer[] = [];
      const got2: Buffer[] = [];
      const dec = new FrameDecoder((f) => got.push(Buffer.from(f)));
      const rec = new FrameReceiver((f) => got2.push(f), 1024);
      for (let off = 0; off < wire.length;) {
        const n = 1 + Math.floor(rand() * 5000);
        dec.push(wire.subarray(off, off + n));
        rec.consume(wire.subarray(off, off + n));
        off += n;
      }
      const same = (a: Buffer[]) =>
        a.length === frames.length && a.every((f, i) => f.equals(frames[i]!));
      expect(same(got)).toBe(true);
      expect(same(got2)).toBe(true);
    }
    expect(() => new FrameDecoder(() => undefined).push(Buffer.from([1, 0, 0, 1, 0]))).toThrow(
      /transport header/,
    );
    expect(() =>
      new FrameDecoder(() => undefined, 1 << 20).push(Buffer.from([0, 0xff, 0xff, 0xff])),
    ).toThrow(/too large/);
  });
});

describe('a malicious server on loopback', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function serve(reply: (request: Buffer) => Buffer | null): Promise<number> {
    const srv = createServer((sock) => {
      sock.once('data', (d) => {
        const out = reply(d);
        if (out) sock.write(out);
        else sock.destroy();
      });
      sock.on('error', () => undefined);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    return (srv.address() as { port: number }).port;
  }
  const frame = (m: Buffer) =>
    Buffer.concat([Buffer.from([0, m.length >> 16, (m.length >> 8) & 255, m.length & 255]), m]);

  it.each([
    ['garbage', () => Buffer.from('this is not SMB at all, just some bytes.......')],
    ['truncated negotiate response', () => frame(negotiateResponse().subarray(0, 90))],
    ['wrong protocol id', () => frame(Buffer.alloc(200, 0x41))],
    ['huge frame length then close', () => Buffer.from([0, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['mutated negotiate responses', () => frame(mutate(prng(7), negotiateResponse()))],
  ])('%s → typed error, no crash, no hang', async (_name, make) => {
    const port = await serve(() => {
      const out = make();
      // Make the (otherwise valid-looking) responses carry the server-to-client flag.
      return out;
    });
    const t0 = Date.now();
    const err = await SmbClient.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      requestTimeoutMs: 1500,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect([ErrorCode.PROTOCOL_ERROR, ErrorCode.CONNECTOR_UNREACHABLE]).toContain(
      (err as AppError).code,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a server that never answers → unreachable (timeout)', async () => {
    const port = await serve(() => Buffer.alloc(0));
    const err = await SmbClient.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      requestTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe(ErrorCode.CONNECTOR_UNREACHABLE);
    expect((err as AppError).details).toMatchObject({ reason: 'timeout' });
  });

  it('the NEGOTIATE request itself is well-formed', () => {
    const req = encodeNegotiateRequest(negOpts);
    expect(req.readUInt16LE(0)).toBe(36);
    expect(req.readUInt16LE(2)).toBe(5);
  });
});
