// numeric and int8 values in a write's body: a JSON number or a string, checked here and
// handed to Postgres as text. JSON numbers are doubles, so a string is the only form that
// keeps 10.00's zeros or an int8 beyond 2^53; a number is taken when it is exact.

/** What the column holds: int8, or numeric with its declared precision and scale (none: unconstrained). */
export type ExactColumn = { kind: 'int8' } | { kind: 'numeric'; precision?: number; scale?: number };

export type Parsed = { ok: true; value: string } | { ok: false; message: string };

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d{1,30}$/;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,6}))?$/;
/** Past this a literal is no amount anyone types; Postgres would refuse most of them anyway. */
const MAX_LITERAL = 1000;
const MAX_EXPONENT = 1000;

const refuse = (message: string): Parsed => ({ ok: false, message });

/** An int8 value: an integer within int8's range, as a safe JSON integer or a string of digits. */
export function parseInt8(value: unknown): Parsed {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return refuse('must be an integer');
    n = BigInt(value);
    if (!Number.isSafeInteger(value) && n >= INT8_MIN && n <= INT8_MAX) {
      return refuse('beyond ±2^53 a JSON number has lost digits before it arrives: send it as a string, e.g. "9007199254740993"');
    }
  } else if (typeof value === 'string') {
    if (!INTEGER.test(value)) return refuse('must be an integer: a JSON number, or a string of digits such as "9007199254740993"');
    n = BigInt(value);
  } else {
    return refuse('must be an integer: a JSON number, or a string of digits such as "9007199254740993"');
  }
  if (n < INT8_MIN || n > INT8_MAX) return refuse(`out of range: an int8 is between ${INT8_MIN} and ${INT8_MAX}`);
  return { ok: true, value: n.toString() };
}

/**
 * A numeric value: a JSON number or a string holding a number literal (`10.00`, `-1.5e3`).
 * With a declared precision and scale, a value that would not fit once rounded to the
 * scale is refused here, as Postgres would refuse it, but naming the field.
 */
export function parseNumeric(value: unknown, column: { precision?: number; scale?: number } = {}): Parsed {
  const literal = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : null;
  const m = literal !== null && literal.length <= MAX_LITERAL ? DECIMAL.exec(literal) : null;
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return refuse('must be a number: a JSON number, or a string holding a number literal such as "10.00"');
  const [, , whole, fraction = '', exponent = '0'] = m;
  const exp = Number(exponent);
  if (Math.abs(exp) > MAX_EXPONENT) return refuse(`out of range: the exponent is at most ${MAX_EXPONENT}`);
  if (column.precision !== undefined) {
    const scale = column.scale ?? 0;
    if (!fitsPrecision(whole! + fraction, exp - fraction.length + scale, column.precision)) {
      const before = column.precision - scale;
      return refuse(`out of range: numeric(${column.precision},${scale}) holds at most ${before} digit${before === 1 ? '' : 's'} before the point`);
    }
  }
  // The literal as sent: Postgres reads exactly this syntax, and its scale is the column's to apply.
  return { ok: true, value: literal! };
}

/**
 * Whether digits × 10^shift, rounded half away from zero to an integer (the value at the
 * column's scale, as Postgres rounds it), has at most `precision` digits.
 */
function fitsPrecision(digits: string, shift: number, precision: number): boolean {
  const significant = digits.replace(/^0+/, '');
  if (significant === '') return true;
  // Digits left of the point after the shift: more than precision (+1 for a carry that
  // cannot happen without all nines) is out at once; this also bounds the BigInt work.
  const integerDigits = significant.length + shift;
  if (integerDigits > precision + 1) return false;
  if (integerDigits < 0) return true;
  let scaled: bigint;
  if (shift >= 0) scaled = BigInt(significant) * 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    const n = BigInt(significant);
    scaled = n / divisor + ((n % divisor) * 2n >= divisor ? 1n : 0n);
  }
  return scaled < 10n ** BigInt(precision);
}

/** Either kind, by the column. */
export function parseExact(value: unknown, column: ExactColumn): Parsed {
  return column.kind === 'int8' ? parseInt8(value) : parseNumeric(value, column);
}

const INT8_COLUMNS = new Set(['PgBigInt53', 'PgBigInt64', 'PgBigSerial53', 'PgBigSerial64']);
const NUMERIC_COLUMNS = new Set(['PgNumeric', 'PgNumericNumber', 'PgNumericBigInt']);

/** By drizzle's column class: whatever mode the schema reads it in, the database holds int8 or numeric. */
export function exactColumnOf(column: { columnType: string; precision?: number; scale?: number }): ExactColumn | null {
  if (INT8_COLUMNS.has(column.columnType)) return { kind: 'int8' };
  if (NUMERIC_COLUMNS.has(column.columnType)) return { kind: 'numeric', precision: column.precision, scale: column.scale };
  return null;
}
