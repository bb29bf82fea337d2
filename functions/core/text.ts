/**
 * Text rules for everything a caller sends.
 *
 * Free text may hold any printable character, tabs and line breaks, but never NUL or other control
 * characters, bidirectional embeddings/overrides/isolates (they make "INV-1" display as something
 * else) or lone UTF-16 surrogates (not text at all; DynamoDB and CSV readers mangle them).
 *
 * Identifiers that guard uniqueness (invoice numbers, deal ids, tax ids, web domains, emails) are
 * compared in a canonical form so that look-alikes written with fullwidth letters, a Unicode dash
 * or a zero-width space collide with the plain spelling.
 */

// C0 controls except tab, LF and CR; DEL and the C1 controls; LRE/RLE/PDF/LRO/RLO; LRI/RLI/FSI/PDI.
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;
// A high surrogate not followed by a low one, or a low one not preceded by a high one (no `u` flag:
// it must see code units).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string is refused as text, or undefined when it is acceptable. */
export function unsafeTextReason(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'contains a lone surrogate (not valid Unicode text)';
  const match = UNSAFE.exec(text);
  if (!match) return undefined;
  const point = match[0].codePointAt(0)!;
  const code = point.toString(16).toUpperCase().padStart(4, '0');
  return point >= 0x202a ? `contains the bidirectional control character U+${code}` : `contains the control character U+${code}`;
}

export interface TextProblem {
  path: string;
  message: string;
}

/** The first string (value or object key) anywhere in a JSON value that breaks the text rules. */
export function findUnsafeText(value: unknown, path: (string | number)[] = []): TextProblem | undefined {
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value);
    return reason ? { path: path.join('.'), message: reason } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnsafeText(item, [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyReason = unsafeTextReason(key);
      if (keyReason) return { path: [...path, key].join('.'), message: `field name ${keyReason}` };
      const found = findUnsafeText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

// Every dash punctuation character (hyphen, non-breaking hyphen, en/em dash, …) and the minus sign.
const DASHES = /[\p{Pd}\u2212\uFE63\uFF0D]/gu;
// Format characters: zero-width space/joiners, soft hyphen, BOM, bidi marks, word joiner, …
const FORMAT = /\p{Cf}/gu;

/**
 * The form identifiers are compared in: NFKC (fullwidth "ＩＮＶ" → "INV", ligatures split), format
 * characters removed, every dash variant written "-", case-folded (upper then lower, so "ß" and
 * "SS" meet), whitespace runs collapsed to one space and trimmed.
 */
export function canonicalIdentifier(text: string): string {
  return text
    .normalize('NFKC')
    .replace(FORMAT, '')
    .replace(DASHES, '-')
    .toUpperCase()
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}
