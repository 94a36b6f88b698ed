import { monotonicFactory } from 'ulid';

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

const ulid = monotonicFactory();
const ULID_BODY = '[0-9A-HJKMNP-TV-Z]{26}';

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
