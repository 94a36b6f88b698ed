import { protocolError } from '../errors.js';
import { Access, CreateDisposition, Fsctl, ShareAccess } from '../wire/constants.js';
import type { FileHandle, Tree } from '../tree/tree.js';
import {
  PFC_LAST_FRAG,
  encodeBind,
  encodeRequest,
  parseBindAck,
  parsePdu,
  pduLength,
  responseStub,
} from './dcerpc.js';

const MAX_FRAG = 4280;
const MAX_RESPONSE = 16 * 1024 * 1024;

/** A bound DCE/RPC association over an SMB named pipe (ncacn_np). */
export class RpcPipe {
  private callId = 1;
  private maxXmit = MAX_FRAG;
  private pending = Buffer.alloc(0);

  private constructor(
    private readonly tree: Tree,
    private readonly handle: FileHandle,
  ) {}

  static async open(
    tree: Tree,
    pipeName: string,
    abstract: { uuid: string; major: number; minor: number },
  ): Promise<RpcPipe> {
    const handle = await tree.open(pipeName, {
      access:
        Access.FILE_READ_DATA |
        Access.FILE_WRITE_DATA |
        Access.FILE_APPEND_DATA |
        Access.FILE_READ_EA |
        Access.FILE_WRITE_EA |
        Access.FILE_READ_ATTRIBUTES |
        Access.FILE_WRITE_ATTRIBUTES |
        Access.READ_CONTROL |
        Access.SYNCHRONIZE,
      shareAccess: ShareAccess.READ | ShareAccess.WRITE,
      disposition: CreateDisposition.OPEN,
    });
    const pipe = new RpcPipe(tree, handle);
    try {
      const ack = parseBindAck(await pipe.transact(encodeBind(pipe.callId++, abstract, MAX_FRAG)));
      pipe.maxXmit = Math.min(ack.maxXmit, MAX_FRAG);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return pipe;
  }

  get link() {
    return this.handle.link;
  }

  /** Sends one PDU with FSCTL_PIPE_TRANSCEIVE and returns the first answering PDU. */
  private async transact(pdu: Buffer) {
    const out = await this.tree.ioctl(this.handle, Fsctl.PIPE_TRANSCEIVE, pdu, MAX_FRAG);
    this.pending = Buffer.from(out);
    return parsePdu(await this.nextPduBytes());
  }

  /** Bytes of the next whole PDU, reading more from the pipe as needed. */
  private async nextPduBytes(): Promise<Buffer> {
    for (;;) {
      const len = pduLength(this.pending);
      if (len >= 0 && len < 16) throw protocolError('bad DCE/RPC fragment length');
      if (len >= 0 && this.pending.length >= len) {
        const pdu = this.pending.subarray(0, len);
        this.pending = this.pending.subarray(len);
        return pdu;
      }
      const more = await this.handle.read(0, MAX_FRAG);
      if (more.length === 0) throw protocolError('DCE/RPC pipe closed mid-PDU');
      this.pending = Buffer.concat([this.pending, more]);
    }
  }

  /** One RPC call: request fragments out, response fragments reassembled into the stub. */
  async call(opnum: number, stub: Buffer): Promise<Buffer> {
    const callId = this.callId++;
    const frags = encodeRequest(callId, opnum, stub, this.maxXmit);
    for (let i = 0; i < frags.length - 1; i++) await this.handle.write(0, frags[i]!);
    let pdu = await this.transact(frags.at(-1)!);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      if (pdu.callId !== callId) throw protocolError('DCE/RPC call id mismatch');
      const s = responseStub(pdu);
      total += s.length;
      if (total > MAX_RESPONSE) throw protocolError('DCE/RPC response too large');
      parts.push(Buffer.from(s));
      if (pdu.flags & PFC_LAST_FRAG) break;
      pdu = parsePdu(await this.nextPduBytes());
    }
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
