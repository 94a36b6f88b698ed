import { randomFillSync } from 'node:crypto';

/** Every public id: lowercase prefix, underscore, 26-character ULID (Crockford base32, uppercase). */
export const IdPrefix = {
  tenant: 'tnt',
  user: 'usr',
  group: 'grp',
  serviceToken: 'tok',
  share: 'shr',
  folder: 'fld',
  file: 'fil',
  version: 'ver',
  ace: 'ace',
  connector: 'cnn',
  job: 'job',
  fileState: 'fst',
  mapping: 'map',
  member: 'mem',
  change: 'chg',
  audit: 'evt',
  oauthState: 'oas',
} as const;
export type IdPrefix = (typeof IdPrefix)[keyof typeof IdPrefix];

const ULID_BODY = '[0-9A-HJKMNP-TV-Z]{26}';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_TIME = 2 ** 48 - 1;

/*
 * A monotonic ULID: 48-bit millisecond time (10 characters), 80 random bits (16 characters); ids
 * made in the same millisecond increment the previous random part, so they sort in creation order
 * within a process. Random bytes come from a pooled CSPRNG buffer: the `ulid` package asked the
 * CSPRNG once per character, which was ~20 µs per id — a visible share of a worker's CPU when
 * every synced file takes several ids.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** 16 uniform base-32 digits. 256 is a multiple of 32: a uniform byte's low five bits are one. */
function fillRandom(into: Uint8Array): void {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  for (let i = 0; i < 16; i++) into[i] = pool[poolOffset + i]! & 31;
  poolOffset += 16;
}

/** The next random part (base-32 increment); false when it overflows. */
function incrementRandom(digits: Uint8Array): boolean {
  for (let i = 15; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

/** A monotonic ULID generator with its own state (`newId` uses one per process). */
export function ulidFactory(): (now?: number) => string {
  let lastTime = -1;
  const digits = new Uint8Array(16);
  return (now = Date.now()) => {
    if (!Number.isInteger(now) || now < 0 || now > MAX_TIME)
      throw new RangeError(`ULID time out of range: ${now}`);
    if (now > lastTime) {
      lastTime = now;
      fillRandom(digits);
    } else if (!incrementRandom(digits)) {
      // 2^80 ids in one millisecond cannot happen; a clock stuck far ahead could in theory exhaust
      // them: move to the next millisecond rather than repeat an id.
      lastTime++;
      fillRandom(digits);
    }
    let out = '';
    for (let i = 0, t = lastTime; i < 10; i++, t = Math.floor(t / 32))
      out = CROCKFORD[t % 32]! + out;
    for (let i = 0; i < 16; i++) out += CROCKFORD[digits[i]!]!;
    return out;
  };
}

const ulid = ulidFactory();

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

export function isId(value: unknown, prefix: IdPrefix): value is string {
  return typeof value === 'string' && new RegExp(`^${prefix}_${ULID_BODY}$`).test(value);
}

/** JSON-schema style pattern for an id with the given prefix (used by the OpenAPI document). */
export function idPattern(prefix: IdPrefix): string {
  return `^${prefix}_${ULID_BODY}$`;
}
