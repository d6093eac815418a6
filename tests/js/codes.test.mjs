// static/scan/codes.js against Python: the fixture (./fixture.mjs) holds app/cardcodes.py's
// verdict on fresh codes.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CodeError,
  b45decode,
  formatNumber,
  isMistypedNumber,
  normaliseNumber,
  parseCode,
  parsePayload,
  verifyPayload,
} from "../../static/scan/codes.js";

import { loadFixture } from "./fixture.mjs";

const fixture = loadFixture();
const hex = (bytes) => Buffer.from(bytes).toString("hex");

/** Python's shape of a payload, for comparing with the fixture. */
const asPython = (p) => ({
  number: p.number,
  region_id: p.regionId,
  valid_until: p.validUntil,
  children: p.children,
  kind: p.kind,
});

async function outcome(call) {
  try {
    return { ok: await call() };
  } catch (error) {
    if (!(error instanceof CodeError)) throw error;
    return { reason: error.reason };
  }
}

test("the fixture has codes of every kind", () => {
  const verdicts = fixture.payloads.map((c) => c.verify.reason ?? "ok");
  for (const verdict of ["ok", "bad_signature", "unknown_card"]) assert.ok(verdicts.includes(verdict));
  assert.ok(fixture.payloads.some((c) => c.verify.ok && c.text.startsWith(" ")), "no payload starts with a space");
  assert.ok(fixture.numbers.length > 100 && fixture.base45.length > 10);
});

test("normaliseNumber and formatNumber agree with Python on every typed number", () => {
  const mismatches = [];
  for (const c of fixture.numbers) {
    const normalised = normaliseNumber(c.text);
    let formatted = null;
    try {
      formatted = formatNumber(c.text);
    } catch {
      formatted = null;
    }
    // Only a canonical number formats: the text itself when it is one, always its normal form.
    const expectedFormat = c.normalised === c.text ? c.formatted : null;
    const canonicalFormat = c.normalised && formatNumber(c.normalised);
    if (normalised !== c.normalised || formatted !== expectedFormat || canonicalFormat !== c.formatted) {
      mismatches.push({ text: c.text, normalised, formatted, python: c.normalised });
    }
  }
  assert.deepEqual(mismatches, []);
});

test("isMistypedNumber tells a typing error as Python does, on every typed number", () => {
  const mismatches = fixture.numbers.filter((c) => isMistypedNumber(c.text) !== c.mistyped)
    .map((c) => ({ text: c.text, python: c.mistyped }));
  assert.deepEqual(mismatches, []);
  assert.ok(fixture.numbers.some((c) => c.mistyped) && fixture.numbers.some((c) => !c.mistyped));
});

test("every sample character stands for the same symbol as in Python", () => {
  const { number, numbers, means } = fixture.symbols;
  const mismatches = [];
  for (const [char, expected] of Object.entries(means)) {
    const found = Object.keys(numbers).filter((s) => normaliseNumber(char + numbers[s].slice(1)) === numbers[s]);
    const ignored = normaliseNumber(number.slice(0, 4) + char + number.slice(4)) === number;
    const actual = ignored ? "" : (found[0] ?? null);
    if (actual !== expected) mismatches.push(`U+${char.codePointAt(0).toString(16)}: ${actual} ≠ ${expected}`);
  }
  assert.deepEqual(mismatches, []);
});

test("exactly the characters Python ignores in a number are ignored, across the BMP", () => {
  const { number, ignorable_bmp: expected } = fixture.symbols;
  const ignorable = [];
  for (let code = 0; code < 0x10000; code++) {
    const text = number.slice(0, 4) + String.fromCharCode(code) + number.slice(4);
    if (normaliseNumber(text) === number) ignorable.push(code);
  }
  assert.deepEqual(ignorable, expected);
});

test("b45decode agrees with Python, refusals included", () => {
  const decode = (text) => {
    try {
      return hex(b45decode(text));
    } catch {
      return null;
    }
  };
  const mismatches = fixture.base45.filter((c) => decode(c.text) !== c.hex);
  assert.deepEqual(mismatches, []);
});

for (const c of fixture.payloads) {
  test(`verifyPayload and parseCode agree with Python: ${c.name}`, async () => {
    const verified = await outcome(async () => asPython(await verifyPayload(c.text, fixture.keys)));
    assert.deepEqual(verified, c.verify);
    const parsed = await outcome(async () => {
      const { number, payload } = await parseCode(c.text, fixture.keys);
      return { number, payload: payload && asPython(payload) };
    });
    assert.deepEqual(parsed, c.parse);
  });
}

test("parsePayload gives the signed bytes, the signature and the fields of each good payload", () => {
  const good = fixture.payloads.filter((c) => c.bytes);
  assert.ok(good.length >= 8);
  for (const c of good) {
    const payload = parsePayload(c.text);
    assert.equal(payload.version, 1);
    assert.equal(payload.keyId, c.bytes.key_id);
    assert.equal(hex(payload.signed), c.bytes.signed);
    assert.equal(hex(payload.signature), c.bytes.signature);
    assert.ok(payload.signed instanceof Uint8Array && payload.signed.length === 13);
    assert.deepEqual(asPython(payload), c.verify.ok);
  }
});

test("parsePayload refuses what is not a payload as unknown_card, signature unchecked", () => {
  for (const c of fixture.payloads.filter((c) => c.verify.reason === "unknown_card")) {
    const result = (() => {
      try {
        return parsePayload(c.text);
      } catch (error) {
        return error;
      }
    })();
    // A correctly signed number over the limit is a payload whose fields are not a card.
    assert.ok(result instanceof CodeError && result.reason === "unknown_card", c.name);
  }
});

test("a broken public key is reported as a fault, not as a verdict on the card", async () => {
  const good = fixture.payloads.find((c) => c.bytes);
  const keys = { [good.bytes.key_id]: "not base64!" };
  await assert.rejects(verifyPayload(good.text, keys), (error) => !(error instanceof CodeError));
});

test("a small-order public key verifies nothing (strict RFC 8032, stricter than OpenSSL)", async () => {
  // With the identity point as key, R = identity and S = 0 "sign" every message under
  // cofactored ZIP 215 rules, and OpenSSL accepts it too. Our keys are never small-order;
  // this pins the strict mode of the vendored verifier.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const good = parsePayload(fixture.payloads.find((c) => c.bytes).text);
  const forged = Uint8Array.from([...good.signed, ...identity, ...new Uint8Array(32)]);
  const text = b45encode(forged);
  const keys = { [good.keyId]: Buffer.from(identity).toString("base64") };
  await assert.rejects(verifyPayload(text, keys), (error) => error.reason === "bad_signature");
});

/** Encode bytes as Base45 (RFC 9285), for building codes in tests. */
function b45encode(bytes) {
  const symbols = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) {
    let value = i + 1 < bytes.length ? bytes[i] * 256 + bytes[i + 1] : bytes[i];
    for (let n = i + 1 < bytes.length ? 3 : 2; n > 0; n--, value = Math.floor(value / 45)) out += symbols[value % 45];
  }
  return out;
}
