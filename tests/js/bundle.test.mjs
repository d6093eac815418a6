// The offline bundle's changed cards as app/scan/bundle.py encodes them, read by static/scan/checker.js.
import assert from "node:assert/strict";
import { test } from "node:test";

import { registerFacts } from "../../static/scan/checker.js";
import { loadFixture } from "./fixture.mjs";

const { changed, cards, absent } = loadFixture().bundle;
const bundle = { changed };

test("every changed card Python encoded is found with its validity and children", () => {
  assert.ok(cards.length > 300 && changed.cards.length > 1);
  for (const { number, valid_until: validUntil, children } of cards) {
    assert.deepEqual(registerFacts(bundle, number), { valid_until: validUntil, children }, number);
  }
});

test("a number Python did not encode is not found", () => {
  assert.ok(absent.length > 90);
  for (const number of absent) assert.equal(registerFacts(bundle, number), null, number);
});
