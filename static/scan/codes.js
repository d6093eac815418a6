/** Card numbers, Base45 and signed QR payloads: the browser twin of app/cardcodes.py (DESIGN §5). */

import { verifyAsync } from "../vendor/noble-ed25519/index.js";

export const ALPHABET = "0123456789ABCDEFGHJKMNPQRTVWXYZ";
export const MAX_CODE_CHARS = 512;
const BASE = ALPHABET.length;
const BODY_LENGTH = 9;
const NUMBER_LENGTH = 10;
const CHECK_WEIGHT_INVERSE = 28; // 10 × 28 ≡ 1 (mod 31)
const NUMBER_LIMIT = BASE ** BODY_LENGTH; // < 2^53, so plain numbers are exact

// Python's str.isspace() set, which str.split(), strip() and re's \s use; JS's \s differs
// (it has U+FEFF and lacks U+001C–U+001F and U+0085).
const IS_SPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

// Only these characters change: String.toUpperCase would also turn "ſ" into "S" and "ı" into "I".
const NORMALISE = new Map();
for (const letter of "abcdefghijklmnopqrstuvwxyz") NORMALISE.set(letter, letter.toUpperCase());
for (const [look, symbol] of Object.entries({ O: "0", I: "1", L: "1", S: "5", U: "V" })) {
  NORMALISE.set(look, symbol).set(look.toLowerCase(), symbol);
}
for (const dash of "-\u2010\u2011\u2012\u2013\u2014\u2212") NORMALISE.set(dash, "");

/** A code that cannot be used; `reason` is "unknown_card" or "bad_signature". */
export class CodeError extends Error {
  constructor(reason) {
    super(reason);
    this.name = "CodeError";
    this.reason = reason;
  }
}

// Lengths are UTF-16 units where Python counts code points. They differ only for astral
// characters, which no number, payload or whitespace contains, so every verdict is the same.

function weightedSum(symbols) {
  let sum = 0;
  for (let i = 0; i < symbols.length; i++) sum += (i + 1) * ALPHABET.indexOf(symbols[i]);
  return sum;
}

/** Tell whether `canonical` is 10 alphabet symbols with a correct check symbol. */
export function isValidNumber(canonical) {
  if (canonical.length !== NUMBER_LENGTH) return false;
  if ([...canonical].some((symbol) => !ALPHABET.includes(symbol))) return false;
  return weightedSum(canonical) % BASE === 0;
}

/** Return the canonical number a person or scanner meant by `text`, or null. */
export function normaliseNumber(text) {
  if (text.length > MAX_CODE_CHARS) return null;
  let candidate = "";
  for (const char of text) {
    if (!IS_SPACE.test(char)) candidate += NORMALISE.get(char) ?? char;
  }
  return isValidNumber(candidate) ? candidate : null;
}

/**
 * Tell whether `text` reads as a card number typed wrong: up to 12 of the number's symbols
 * (ten and a slip or two) that are not a valid number (a typing error, not an unknown card),
 * as Python's is_mistyped_number.
 */
export function isMistypedNumber(text) {
  if (text.length > MAX_CODE_CHARS) return false;
  let candidate = "";
  for (const char of text) {
    if (!IS_SPACE.test(char)) candidate += NORMALISE.has(char) ? NORMALISE.get(char) : char;
  }
  return candidate.length > 0 && candidate.length <= NUMBER_LENGTH + 2
    && [...candidate].every((symbol) => ALPHABET.includes(symbol))
    && !isValidNumber(candidate);
}

/** Return the number grouped for display and print, as XXXX-XXX-XXX; throw if invalid. */
export function formatNumber(canonical) {
  if (!isValidNumber(canonical)) throw new Error("not a valid canonical card number");
  return `${canonical.slice(0, 4)}-${canonical.slice(4, 7)}-${canonical.slice(7)}`;
}

function numberFromInt(value) {
  let body = "";
  for (let i = 0; i < BODY_LENGTH; i++, value = Math.floor(value / BASE)) {
    body = ALPHABET[value % BASE] + body;
  }
  const check = ((-weightedSum(body) * CHECK_WEIGHT_INVERSE) % BASE + BASE) % BASE;
  return body + ALPHABET[check];
}

// --- Base45 (RFC 9285) ------------------------------------------------------------------

const B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/** Decode Base45 text (RFC 9285); throw an Error if it is not valid Base45. */
export function b45decode(text) {
  if (text.length % 3 === 1) throw new Error("Base45 text cannot have a length of 1 mod 3");
  const out = [];
  for (let start = 0; start < text.length; start += 3) {
    const chunk = text.slice(start, start + 3);
    let value = 0;
    for (let i = chunk.length - 1; i >= 0; i--) {
      const digit = B45_ALPHABET.indexOf(chunk[i]);
      if (digit < 0) throw new Error("not a Base45 symbol");
      value = value * 45 + digit;
    }
    if (value >= 256 ** (chunk.length - 1)) throw new Error("Base45 group out of range");
    if (chunk.length === 3) out.push(value >> 8);
    out.push(value & 0xff);
  }
  return Uint8Array.from(out);
}

// --- Signed payloads --------------------------------------------------------------------

const PAYLOAD_VERSION = 1;
const SIGNED_BYTES = 13; // version | key id | number (6) | region (2) | days (2) | kind + children
const PAYLOAD_BYTES = SIGNED_BYTES + 64;
const DATE_EPOCH = Date.UTC(2020, 0, 1);
const DAY_MS = 24 * 60 * 60 * 1000;

function payloadBytes(text) {
  if (text.length > MAX_CODE_CHARS) throw new CodeError("unknown_card");
  let data;
  try {
    data = b45decode(text);
  } catch {
    throw new CodeError("unknown_card");
  }
  if (data.length !== PAYLOAD_BYTES || data[0] !== PAYLOAD_VERSION) throw new CodeError("unknown_card");
  return data;
}

function payloadFields(data) {
  const number = data.subarray(2, 8).reduce((value, byte) => value * 256 + byte, 0);
  if (number >= NUMBER_LIMIT) throw new CodeError("unknown_card");
  const days = (data[10] << 8) | data[11];
  return {
    version: data[0],
    keyId: data[1],
    number: numberFromInt(number),
    regionId: (data[8] << 8) | data[9],
    validUntil: new Date(DATE_EPOCH + days * DAY_MS).toISOString().slice(0, 10),
    children: data[12] & 0x7f,
    kind: data[12] & 0x80 ? "community" : "personal",
    signed: data.slice(0, SIGNED_BYTES),
    signature: data.slice(SIGNED_BYTES),
  };
}

/** Return the fields of Base45 payload `text` WITHOUT checking its signature; throw CodeError. */
export function parsePayload(text) {
  return payloadFields(payloadBytes(text));
}

function publicKeyBytes(publicKeys, keyId) {
  if (!Object.hasOwn(publicKeys, keyId)) return null;
  let raw;
  try {
    raw = Uint8Array.from(atob(publicKeys[keyId]), (char) => char.charCodeAt(0));
  } catch {
    raw = null;
  }
  // A broken bundle is a fault to report, not a verdict on the card.
  if (raw?.length !== 32) throw new Error(`public key ${keyId} is not 32 bytes of base64`);
  return raw;
}

/** Return the payload in Base45 `text` if its signature verifies; throw CodeError (as Python). */
export async function verifyPayload(text, publicKeys) {
  const data = payloadBytes(text);
  const key = publicKeyBytes(publicKeys, String(data[1]));
  if (key === null) throw new CodeError("bad_signature");
  const signed = data.subarray(0, SIGNED_BYTES);
  // zip215 off: the strict RFC 8032 rules, as OpenSSL behind Python's `cryptography`.
  if (!(await verifyAsync(data.subarray(SIGNED_BYTES), signed, key, { zip215: false }))) {
    throw new CodeError("bad_signature");
  }
  return payloadFields(data); // fields are read only once the signature vouches for them
}

function stripEnd(text) {
  let end = text.length;
  while (end > 0 && IS_SPACE.test(text[end - 1])) end--;
  return text.slice(0, end);
}

function stripStart(text, keepSpace) {
  let start = 0;
  while (start < text.length && IS_SPACE.test(text[start]) && !(keepSpace && text[start] === " ")) start++;
  return text.slice(start);
}

function payloadCandidates(text) {
  // A payload never ends in a space, but "space" is a Base45 symbol and a payload
  // begins with one for some key ids: keep a leading space first, drop it second.
  const trimmed = stripEnd(text);
  return [...new Set([stripStart(trimmed, true), stripStart(trimmed, false)])];
}

/** Read what a scanner delivered or a person typed: {number, payload|null}; refuse with CodeError. */
export async function parseCode(text, publicKeys) {
  if (text.length > MAX_CODE_CHARS) throw new CodeError("unknown_card");
  const number = normaliseNumber(text);
  if (number !== null) return { number, payload: null };
  let error = new CodeError("unknown_card");
  for (const candidate of payloadCandidates(text)) {
    try {
      const payload = await verifyPayload(candidate, publicKeys);
      return { number: payload.number, payload };
    } catch (refused) {
      if (!(refused instanceof CodeError)) throw refused;
      // "bad_signature" says more than "unknown_card": keep it if any try said so.
      if (refused.reason === "bad_signature") error = refused;
    }
  }
  throw error;
}
