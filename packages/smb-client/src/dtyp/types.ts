/** SID_NAME_USE ([MS-LSAT] 2.2.13) as strings. */
export type SidType =
  | 'user'
  | 'group'
  | 'domain'
  | 'alias'
  | 'well-known-group'
  | 'deleted-account'
  | 'invalid'
  | 'unknown'
  | 'computer'
  | 'label';

const TYPES: SidType[] = [
  'invalid',
  'user',
  'group',
  'domain',
  'alias',
  'well-known-group',
  'deleted-account',
  'invalid',
  'unknown',
  'computer',
  'label',
];

export function sidTypeName(n: number): SidType {
  return TYPES[n] ?? 'unknown';
}
