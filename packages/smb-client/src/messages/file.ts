import { protocolError } from '../errors.js';
import { HEADER_SIZE } from '../wire/header.js';
import { Reader } from '../wire/reader.js';
import { bodyReader, bufferAt } from './common.js';

export interface CreateRequest {
  path: string;
  desiredAccess: number;
  fileAttributes?: number;
  shareAccess: number;
  disposition: number;
  options: number;
  /** Create contexts, already encoded (8-byte aligned chain). */
  contexts?: Buffer;
}

export function encodeCreate(req: CreateRequest): Buffer[] {
  const name = Buffer.from(req.path, 'utf16le');
  const fixed = Buffer.alloc(56);
  fixed.writeUInt16LE(57, 0);
  fixed[2] = 0; // SecurityFlags
  fixed[3] = 0; // RequestedOplockLevel: none
  fixed.writeUInt32LE(2, 4); // ImpersonationLevel: Impersonation
  fixed.writeUInt32LE(req.desiredAccess >>> 0, 24);
  fixed.writeUInt32LE(req.fileAttributes ?? 0, 28);
  fixed.writeUInt32LE(req.shareAccess, 32);
  fixed.writeUInt32LE(req.disposition, 36);
  fixed.writeUInt32LE(req.options, 40);
  fixed.writeUInt16LE(HEADER_SIZE + 56, 44);
  fixed.writeUInt16LE(name.length, 46);
  const parts: Buffer[] = [fixed, name.length ? name : Buffer.alloc(1)];
  if (req.contexts && req.contexts.length) {
    const nameLen = name.length || 1;
    const pad = (8 - ((56 + nameLen) % 8)) % 8;
    if (pad) parts.push(Buffer.alloc(pad));
    fixed.writeUInt32LE(HEADER_SIZE + 56 + nameLen + pad, 48);
    fixed.writeUInt32LE(req.contexts.length, 52);
    parts.push(req.contexts);
  }
  return parts;
}

export interface FileTimes {
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
}

export interface CreateResponse extends FileTimes {
  createAction: number;
  allocationSize: number;
  endOfFile: number;
  fileAttributes: number;
  fileId: Buffer;
}

export function parseCreateResponse(message: Buffer): CreateResponse {
  const r = bodyReader(message, 89, 'CREATE response');
  r.u8(); // oplock
  r.u8(); // flags
  const createAction = r.u32();
  const creationTime = r.u64();
  const lastAccessTime = r.u64();
  const lastWriteTime = r.u64();
  const changeTime = r.u64();
  const allocationSize = r.u64n();
  const endOfFile = r.u64n();
  const fileAttributes = r.u32();
  r.u32();
  const fileId = Buffer.from(r.bytes(16));
  return {
    createAction,
    creationTime,
    lastAccessTime,
    lastWriteTime,
    changeTime,
    allocationSize,
    endOfFile,
    fileAttributes,
    fileId,
  };
}

export function encodeClose(fileId: Buffer, postQuery = false): Buffer[] {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b.writeUInt16LE(postQuery ? 1 : 0, 2);
  fileId.copy(b, 8);
  return [b];
}

export function encodeRead(fileId: Buffer, offset: number, length: number, minimum = 0): Buffer[] {
  const b = Buffer.alloc(49);
  b.writeUInt16LE(49, 0);
  b[2] = 0x50; // Padding: data offset hint
  b[3] = 0;
  b.writeUInt32LE(length, 4);
  b.writeBigUInt64LE(BigInt(offset), 8);
  fileId.copy(b, 16);
  b.writeUInt32LE(minimum, 32);
  return [b];
}

/** READ response data: a view into the message, bounds-checked. */
export function parseReadResponse(message: Buffer): Buffer {
  const r = bodyReader(message, 17, 'READ response');
  const dataOffset = r.u8();
  r.u8();
  const dataLength = r.u32();
  return bufferAt(message, dataOffset, dataLength, 'READ data');
}

export function encodeWriteHeader(fileId: Buffer, offset: number, length: number): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt16LE(49, 0);
  b.writeUInt16LE(HEADER_SIZE + 48, 2);
  b.writeUInt32LE(length, 4);
  b.writeBigUInt64LE(BigInt(offset), 8);
  fileId.copy(b, 16);
  return b;
}

export function encodeWrite(fileId: Buffer, offset: number, data: Buffer): Buffer[] {
  return [encodeWriteHeader(fileId, offset, data.length), data.length ? data : Buffer.alloc(1)];
}

export function parseWriteResponse(message: Buffer): number {
  const r = bodyReader(message, 17, 'WRITE response');
  r.u16();
  return r.u32();
}

export function encodeFlush(fileId: Buffer): Buffer[] {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  fileId.copy(b, 8);
  return [b];
}

export function encodeQueryDirectory(
  fileId: Buffer,
  infoClass: number,
  pattern: string,
  outputLength: number,
  flags: number,
): Buffer[] {
  const name = Buffer.from(pattern, 'utf16le');
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = infoClass;
  b[3] = flags;
  fileId.copy(b, 8);
  b.writeUInt16LE(HEADER_SIZE + 32, 24);
  b.writeUInt16LE(name.length, 26);
  b.writeUInt32LE(outputLength, 28);
  return [b, name.length ? name : Buffer.alloc(1)];
}

/** Output buffer of QUERY_DIRECTORY / QUERY_INFO / CHANGE_NOTIFY (same layout, StructureSize 9). */
export function parseOutputBuffer(message: Buffer, what: string): Buffer {
  const r = bodyReader(message, 9, what);
  const off = r.u16();
  const len = r.u32();
  return bufferAt(message, off, len, what);
}

export interface DirectoryEntry extends FileTimes {
  name: string;
  endOfFile: number;
  allocationSize: number;
  fileAttributes: number;
  fileId: bigint;
  shortName: string;
}

/** FILE_ID_BOTH_DIR_INFORMATION entries ([MS-FSCC] 2.4.17). */
export function parseIdBothDirectoryInformation(buf: Buffer): DirectoryEntry[] {
  const out: DirectoryEntry[] = [];
  let off = 0;
  for (;;) {
    const r = new Reader(buf, off, buf.length, 'directory entry');
    const next = r.u32();
    r.u32(); // FileIndex
    const creationTime = r.u64();
    const lastAccessTime = r.u64();
    const lastWriteTime = r.u64();
    const changeTime = r.u64();
    const endOfFile = r.u64n();
    const allocationSize = r.u64n();
    const fileAttributes = r.u32();
    const nameLen = r.u32();
    r.u32(); // EaSize
    const shortLen = r.u8();
    r.u8();
    const shortRaw = r.bytes(24);
    r.u16();
    const fileId = r.u64();
    const name = r.utf16(nameLen);
    if (shortLen > 24 || shortLen % 2) throw protocolError('bad short name length');
    out.push({
      name,
      endOfFile,
      allocationSize,
      fileAttributes,
      fileId,
      creationTime,
      lastAccessTime,
      lastWriteTime,
      changeTime,
      shortName: shortRaw.subarray(0, shortLen).toString('utf16le'),
    });
    if (next === 0) return out;
    if (next % 8 !== 0 || next < 104) throw protocolError('bad NextEntryOffset', { next });
    off += next;
    if (off >= buf.length) throw protocolError('NextEntryOffset past the buffer');
  }
}

export function encodeQueryInfo(
  fileId: Buffer,
  infoType: number,
  infoClass: number,
  outputLength: number,
  additionalInformation = 0,
): Buffer[] {
  const b = Buffer.alloc(40);
  b.writeUInt16LE(41, 0);
  b[2] = infoType;
  b[3] = infoClass;
  b.writeUInt32LE(outputLength, 4);
  b.writeUInt16LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(additionalInformation, 16);
  b.writeUInt32LE(0, 20);
  fileId.copy(b, 24);
  return [b, Buffer.alloc(1)];
}

export function encodeSetInfo(
  fileId: Buffer,
  infoType: number,
  infoClass: number,
  data: Buffer,
  additionalInformation = 0,
): Buffer[] {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = infoType;
  b[3] = infoClass;
  b.writeUInt32LE(data.length, 4);
  b.writeUInt16LE(HEADER_SIZE + 32, 8);
  b.writeUInt32LE(additionalInformation, 12);
  fileId.copy(b, 16);
  return [b, data];
}

export interface IoctlRequest {
  ctlCode: number;
  fileId: Buffer;
  input: Buffer;
  maxOutput: number;
}

export function encodeIoctl(req: IoctlRequest): Buffer[] {
  const b = Buffer.alloc(56);
  b.writeUInt16LE(57, 0);
  b.writeUInt32LE(req.ctlCode >>> 0, 4);
  req.fileId.copy(b, 8);
  b.writeUInt32LE(req.input.length ? HEADER_SIZE + 56 : 0, 24);
  b.writeUInt32LE(req.input.length, 28);
  b.writeUInt32LE(0, 32); // MaxInputResponse
  b.writeUInt32LE(0, 36);
  b.writeUInt32LE(0, 40);
  b.writeUInt32LE(req.maxOutput, 44);
  b.writeUInt32LE(1, 48); // SMB2_0_IOCTL_IS_FSCTL
  return req.input.length ? [b, req.input] : [b];
}

export function parseIoctlResponse(message: Buffer): Buffer {
  const r = bodyReader(message, 49, 'IOCTL response');
  r.u16();
  r.u32();
  r.skip(16);
  r.u32();
  r.u32();
  const outOff = r.u32();
  const outLen = r.u32();
  return bufferAt(message, outOff, outLen, 'IOCTL output');
}

export function encodeChangeNotify(
  fileId: Buffer,
  filter: number,
  recursive: boolean,
  outputLength: number,
): Buffer[] {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(32, 0);
  b.writeUInt16LE(recursive ? 1 : 0, 2);
  b.writeUInt32LE(outputLength, 4);
  fileId.copy(b, 8);
  b.writeUInt32LE(filter, 24);
  return [b];
}

export interface NotifyEntry {
  action: number;
  name: string;
}

export function parseFileNotifyInformation(buf: Buffer): NotifyEntry[] {
  const out: NotifyEntry[] = [];
  if (buf.length === 0) return out;
  let off = 0;
  for (;;) {
    const r = new Reader(buf, off, buf.length, 'notify entry');
    const next = r.u32();
    const action = r.u32();
    const len = r.u32();
    out.push({ action, name: r.utf16(len) });
    if (next === 0) return out;
    if (next % 4 !== 0 || next < 12) throw protocolError('bad notify NextEntryOffset');
    off += next;
    if (off >= buf.length) throw protocolError('notify NextEntryOffset past the buffer');
    if (out.length > 100000) throw protocolError('too many notify entries');
  }
}

/** FILE_BASIC_INFORMATION (40 bytes) / FILE_NETWORK_OPEN_INFORMATION (56 bytes) / ALL parsing. */
export interface BasicInfo extends FileTimes {
  fileAttributes: number;
}

export function parseBasicInfo(buf: Buffer): BasicInfo {
  const r = new Reader(buf, 0, buf.length, 'FileBasicInformation');
  return {
    creationTime: r.u64(),
    lastAccessTime: r.u64(),
    lastWriteTime: r.u64(),
    changeTime: r.u64(),
    fileAttributes: r.u32(),
  };
}

export interface AllInfo extends BasicInfo {
  allocationSize: number;
  endOfFile: number;
  numberOfLinks: number;
  deletePending: boolean;
  directory: boolean;
  fileId: bigint;
}

/** FILE_ALL_INFORMATION fixed part ([MS-FSCC] 2.4.2); the trailing name is ignored. */
export function parseAllInfo(buf: Buffer): AllInfo {
  const r = new Reader(buf, 0, buf.length, 'FileAllInformation');
  const creationTime = r.u64();
  const lastAccessTime = r.u64();
  const lastWriteTime = r.u64();
  const changeTime = r.u64();
  const fileAttributes = r.u32();
  r.u32();
  const allocationSize = r.u64n();
  const endOfFile = r.u64n();
  const numberOfLinks = r.u32();
  const deletePending = r.u8() !== 0;
  const directory = r.u8() !== 0;
  r.u16();
  const fileId = r.u64();
  return {
    creationTime,
    lastAccessTime,
    lastWriteTime,
    changeTime,
    fileAttributes,
    allocationSize,
    endOfFile,
    numberOfLinks,
    deletePending,
    directory,
    fileId,
  };
}

export function encodeBasicInfo(t: Partial<FileTimes>, attributes = 0): Buffer {
  const b = Buffer.alloc(40);
  b.writeBigUInt64LE(t.creationTime ?? 0n, 0);
  b.writeBigUInt64LE(t.lastAccessTime ?? 0n, 8);
  b.writeBigUInt64LE(t.lastWriteTime ?? 0n, 16);
  b.writeBigUInt64LE(t.changeTime ?? 0n, 24);
  b.writeUInt32LE(attributes, 32);
  return b;
}

/** FILE_RENAME_INFORMATION_TYPE_2 ([MS-FSCC] 2.4.37.2) with a share-relative target. */
export function encodeRenameInfo(target: string, replace: boolean): Buffer {
  const name = Buffer.from(target, 'utf16le');
  const b = Buffer.alloc(20 + name.length);
  b[0] = replace ? 1 : 0;
  b.writeBigUInt64LE(0n, 8);
  b.writeUInt32LE(name.length, 16);
  name.copy(b, 20);
  return b;
}

export function encodeDispositionInfo(deletePending: boolean): Buffer {
  return Buffer.from([deletePending ? 1 : 0]);
}

export function encodeEndOfFileInfo(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(size));
  return b;
}
