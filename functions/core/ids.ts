import { ulid } from 'ulid';
import * as z from 'zod';

export const ID_PREFIXES = {
  application: 'app',
  partner: 'ptr',
  fundRequest: 'frq',
  claim: 'clm',
  approval: 'apr',
  program: 'prg',
  payoutRun: 'run',
  payment: 'pay',
  payoutLine: 'lin',
  user: 'usr',
  invitation: 'inv',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid()}`;
}

const ULID_PATTERN = '[0-9A-HJKMNP-TV-Z]{26}';

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_${ULID_PATTERN}$`).test(value);
}

export function idSchema(kind: IdKind) {
  return z.string().refine((v) => isId(kind, v), `must be an id starting with ${ID_PREFIXES[kind]}_`);
}
