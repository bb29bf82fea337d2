import * as z from 'zod';

/** Money is always an integer count of the currency's minor unit. Never a float. */
export interface Money {
  amount: number;
  currency: string;
}

/** ISO 4217 minor-unit exponents for the currencies the platform accepts. */
const EXPONENTS: Readonly<Record<string, number>> = {
  AED: 2, AUD: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, CZK: 2, DKK: 2, EUR: 2, GBP: 2,
  HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, ISK: 0, JOD: 3, JPY: 0, KRW: 0, KWD: 3, MXN: 2, MYR: 2,
  NOK: 2, NZD: 2, OMR: 3, PHP: 2, PLN: 2, RON: 2, SAR: 2, SEK: 2, SGD: 2, THB: 2, TND: 3, TRY: 2,
  TWD: 2, USD: 2, VND: 0, ZAR: 2,
};

export class MoneyError extends Error {
  constructor(
    readonly code: 'unknown_currency' | 'currency_mismatch' | 'not_integer' | 'overflow' | 'invalid_decimal',
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

export function isKnownCurrency(currency: string): boolean {
  return Object.hasOwn(EXPONENTS, currency);
}

export function currencyExponent(currency: string): number {
  const exponent = EXPONENTS[currency];
  if (exponent === undefined) throw new MoneyError('unknown_currency', `Unknown currency ${currency}`);
  return exponent;
}

function checked(amount: number, currency: string): Money {
  if (!Number.isInteger(amount)) throw new MoneyError('not_integer', `Amount ${amount} is not an integer of minor units`);
  if (!Number.isSafeInteger(amount)) throw new MoneyError('overflow', `Amount ${amount} is beyond the safe integer range`);
  return { amount, currency };
}

export function money(amount: number, currency: string): Money {
  currencyExponent(currency);
  return checked(amount, currency);
}

export function zero(currency: string): Money {
  return money(0, currency);
}

export function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new MoneyError('currency_mismatch', `Cannot combine ${a.currency} with ${b.currency}`);
  }
}

export function add(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return checked(a.amount + b.amount, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return checked(a.amount - b.amount, a.currency);
}

export function negate(a: Money): Money {
  return checked(-a.amount, a.currency);
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  assertSameCurrency(a, b);
  return a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0;
}

export function min(a: Money, b: Money): Money {
  return compare(a, b) <= 0 ? a : b;
}

export function sum(items: readonly Money[], currency: string): Money {
  return items.reduce((total, item) => add(total, item), zero(currency));
}

/**
 * Multiplies an amount by a rate in basis points (1/100 of a percent) and rounds half away from
 * zero to a whole minor unit. BigInt keeps the intermediate product exact.
 */
export function applyBasisPoints(a: Money, bps: number): Money {
  if (!Number.isSafeInteger(bps)) throw new MoneyError('not_integer', `Rate ${bps} bps is not an integer`);
  return checked(divideRoundHalfAwayFromZero(BigInt(a.amount) * BigInt(bps), 10_000n), a.currency);
}

/** Multiplies an amount by a whole quantity (e.g. a SPIFF per unit). */
export function multiply(a: Money, quantity: number): Money {
  if (!Number.isSafeInteger(quantity)) throw new MoneyError('not_integer', `Quantity ${quantity} is not an integer`);
  const product = BigInt(a.amount) * BigInt(quantity);
  if (product > BigInt(Number.MAX_SAFE_INTEGER) || product < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('overflow', 'Product is beyond the safe integer range');
  }
  return checked(Number(product), a.currency);
}

function divideRoundHalfAwayFromZero(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  if ((n % d) * 2n >= d) quotient += 1n;
  const result = negative ? -quotient : quotient;
  if (result > BigInt(Number.MAX_SAFE_INTEGER) || result < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('overflow', 'Result is beyond the safe integer range');
  }
  return Number(result);
}

/** Parses a decimal string such as "1250.00" into minor units; refuses more digits than the currency has. */
export function parseDecimal(text: string, currency: string): Money {
  const exponent = currencyExponent(currency);
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new MoneyError('invalid_decimal', `"${text}" is not a decimal amount`);
  const [, sign, whole = '0', fraction = ''] = match;
  if (fraction.length > exponent) {
    throw new MoneyError('invalid_decimal', `${currency} has ${exponent} decimal places; "${text}" has ${fraction.length}`);
  }
  const minor = BigInt(whole) * 10n ** BigInt(exponent) + BigInt(fraction.padEnd(exponent, '0') || '0');
  const signed = sign ? -minor : minor;
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('overflow', `"${text}" is beyond the safe integer range`);
  }
  return checked(Number(signed), currency);
}

/** Formats minor units as a plain decimal string with exactly the currency's minor digits ("1250.00"). */
export function formatDecimal(m: Money): string {
  const exponent = currencyExponent(m.currency);
  checked(m.amount, m.currency);
  const negative = m.amount < 0;
  const digits = Math.abs(m.amount).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** Human display, e.g. "1,250.00 USD". */
export function formatDisplay(m: Money): string {
  const [whole = '', fraction] = formatDecimal(m).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${grouped}${fraction === undefined ? '' : `.${fraction}`} ${m.currency}`;
}

// The schemas are built in pure-annotated closures: a bundle that does not use them (a task
// function) then drops them, and with them zod (~88 KB, ~20 ms of init).
export const CurrencySchema = /* @__PURE__ */ (() =>
  z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
    .refine(isKnownCurrency, 'is not a supported ISO 4217 currency'))();

/**
 * The largest amount any request may carry: 10^12 minor units (10 billion USD, 1 trillion JPY).
 * No real sale, claim or budget comes near it, and sums of thousands of such amounts stay exact
 * (below 2^53). A payout run still isolates a partner whose figures overflow (incentives/tasks.ts).
 */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

const amountSchema = /* @__PURE__ */ (() =>
  z
    .number({ error: 'must be an integer number of minor units' })
    .int('must be an integer number of minor units (no decimals)')
    .min(-MAX_AMOUNT_MINOR, `must be at least -${MAX_AMOUNT_MINOR} minor units`)
    .max(MAX_AMOUNT_MINOR, `must be at most ${MAX_AMOUNT_MINOR} minor units (10^12)`))();

/** Money in a request: positive integer minor units. */
export const MoneySchema = /* @__PURE__ */ (() =>
  z.object({
    amount: amountSchema.refine((n) => n > 0, 'must be positive'),
    currency: CurrencySchema,
  }))();

export const SignedMoneySchema = /* @__PURE__ */ (() => z.object({ amount: amountSchema, currency: CurrencySchema }))();
