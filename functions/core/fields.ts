import * as z from 'zod';

/**
 * Field schemas every context shares, so a date or a piece of text is refused the same way
 * wherever it appears (and never reaches code that would throw on it).
 */

function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** A calendar date YYYY-MM-DD (no time, no time zone), year 1000–9999. */
export const IsoDateSchema = z
  .string({ error: 'must be a date YYYY-MM-DD' })
  .regex(/^[1-9]\d{3}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(isCalendarDate, 'is not a real calendar date');

/** Required free text, trimmed, at most `max` characters (the text rules are checked on every body: text.ts). */
export const requiredText = (max: number) => z.string({ error: 'must be text' }).trim().min(1, 'is required').max(max, `at most ${max} characters`);
