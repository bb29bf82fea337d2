import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS } from '../functions/catalog.ts';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export const localFunctionArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:prm-${name}`;

/** The `${…}` substitutions the CDK stack supplies, with local ARNs in place of deployed ones. */
export function localSubstitutions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(FUNCTIONS)) {
    if ('substitution' in spec && spec.substitution) out[spec.substitution] = localFunctionArn(name);
  }
  return out;
}

/** Reads an ASL file and applies `${Name}` substitutions exactly as CloudFormation's DefinitionSubstitutions would. */
export function loadDefinition(file: string, substitutions: Record<string, string>): unknown {
  const text = readFileSync(resolve(ROOT, file), 'utf8').replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`${file}: no substitution for ${whole}`);
    return value;
  });
  return JSON.parse(text);
}
