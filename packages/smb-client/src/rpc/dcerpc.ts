import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';

/** DCE/RPC connection-oriented PDUs ([C706] 12, [MS-RPCE] 2.2.2). */
export const PduType = {
  REQUEST: 0,
  RESPONSE: 2,
  FAULT: 3,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
} as const;
export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;
const HEADER = 16;

export const NDR_SYNTAX = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', version: 2 };

export function encodeUuid(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`bad UUID ${uuid}`);
  const b = Buffer.from(hex, 'hex');
  // time_low, time_mid, time_hi_and_version are little-endian on the wire.
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

function header(type: number, flags: number, fragLength: number, callId: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h[0] = 5;
  h[1] = 0;
  h[2] = type;
  h[3] = flags;
  h.writeUInt32LE(0x00000010, 4); // little-endian, ASCII, IEEE
  h.writeUInt16LE(fragLength, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(callId, 12);
  return h;
}

export function encodeBind(
  callId: number,
  abstract: { uuid: string; major: number; minor: number },
  maxFrag: number,
): Buffer {
  const body = Buffer.alloc(8 + 4 + 4 + 20 + 20);
  body.writeUInt16LE(maxFrag, 0);
  body.writeUInt16LE(maxFrag, 2);
  body.writeUInt32LE(0, 4);
  body[8] = 1; // n_context_elem
  body.writeUInt16LE(0, 12); // p_cont_id
  body[14] = 1; // n_transfer_syn
  encodeUuid(abstract.uuid).copy(body, 16);
  body.writeUInt16LE(abstract.major, 32);
  body.writeUInt16LE(abstract.minor, 34);
  encodeUuid(NDR_SYNTAX.uuid).copy(body, 36);
  body.writeUInt32LE(NDR_SYNTAX.version, 52);
  return Buffer.concat([
    header(PduType.BIND, PFC_FIRST_FRAG | PFC_LAST_FRAG, HEADER + body.length, callId),
    body,
  ]);
}

export interface Pdu {
  type: number;
  flags: number;
  callId: number;
  fragLength: number;
  body: Buffer;
}

/** Length of the PDU at the start of `buf`, or -1 when fewer than 16 bytes are there. */
export function pduLength(buf: Buffer): number {
  if (buf.length < HEADER) return -1;
  return buf.readUInt16LE(8);
}

export function parsePdu(buf: Buffer): Pdu {
  const r = new Reader(buf, 0, buf.length, 'DCE/RPC PDU');
  const vers = r.u8();
  const minor = r.u8();
  if (vers !== 5 || minor > 1) throw protocolError('not a DCE/RPC v5 PDU');
  const type = r.u8();
  const flags = r.u8();
  const drep = r.u32();
  if ((drep & 0xff) !== 0x10)
    throw protocolError('DCE/RPC big-endian data representation not supported');
  const fragLength = r.u16();
  const authLength = r.u16();
  const callId = r.u32();
  if (fragLength < HEADER || fragLength > buf.length)
    throw protocolError('bad DCE/RPC fragment length');
  const bodyEnd = fragLength - (authLength ? authLength + 8 : 0);
  if (bodyEnd < HEADER) throw protocolError('bad DCE/RPC auth length');
  return { type, flags, callId, fragLength, body: buf.subarray(HEADER, bodyEnd) };
}

export function parseBindAck(pdu: Pdu): { maxXmit: number; maxRecv: number } {
  if (pdu.type === PduType.BIND_NAK) throw protocolError('DCE/RPC bind rejected');
  if (pdu.type !== PduType.BIND_ACK) throw protocolError('expected DCE/RPC bind_ack');
  const r = new Reader(pdu.body, 0, pdu.body.length, 'bind_ack');
  const maxXmit = r.u16();
  const maxRecv = r.u16();
  r.u32();
  const secLen = r.u16();
  r.skip(secLen);
  // Align to 4 relative to the PDU start (body starts at offset 16).
  r.align(4);
  const n = r.u8();
  r.skip(3);
  if (n < 1) throw protocolError('bind_ack without results');
  const result = r.u16();
  if (result !== 0) throw protocolError('DCE/RPC presentation context rejected', { result });
  return { maxXmit, maxRecv };
}

/** Request PDUs for one call, fragmented to `maxXmit`. */
export function encodeRequest(
  callId: number,
  opnum: number,
  stub: Buffer,
  maxXmit: number,
): Buffer[] {
  const room = Math.max(8, maxXmit - HEADER - 8);
  const out: Buffer[] = [];
  let off = 0;
  do {
    const part = stub.subarray(off, off + room);
    let flags = 0;
    if (off === 0) flags |= PFC_FIRST_FRAG;
    if (off + part.length >= stub.length) flags |= PFC_LAST_FRAG;
    const body = Buffer.alloc(8);
    body.writeUInt32LE(stub.length, 0);
    body.writeUInt16LE(0, 4);
    body.writeUInt16LE(opnum, 6);
    out.push(
      Buffer.concat([header(PduType.REQUEST, flags, HEADER + 8 + part.length, callId), body, part]),
    );
    off += part.length;
  } while (off < stub.length);
  return out;
}

/** Response stub of one fragment; throws on a fault. */
export function responseStub(pdu: Pdu): Buffer {
  if (pdu.type === PduType.FAULT) {
    const status = pdu.body.length >= 12 ? pdu.body.readUInt32LE(8) : 0;
    throw protocolError('DCE/RPC fault', { status: `0x${status.toString(16)}` });
  }
  if (pdu.type !== PduType.RESPONSE) throw protocolError('expected DCE/RPC response');
  if (pdu.body.length < 8) throw protocolError('truncated DCE/RPC response');
  return pdu.body.subarray(8);
}
