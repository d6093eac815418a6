// The fixture Python writes for the JavaScript tests: tests/test_checker_js.py writes it and
// names it in CARD_CODES_FIXTURE; a test file run alone asks Python to write one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

function fixturePath() {
  if (process.env.CARD_CODES_FIXTURE) return process.env.CARD_CODES_FIXTURE;
  const path = join(mkdtempSync(join(tmpdir(), "card-codes-")), "payloads.json");
  const venvPython = join(REPO, ".venv", "bin", "python");
  const python = existsSync(venvPython) ? venvPython : "python3";
  const made = spawnSync(python, ["-m", "tests.test_checker_js", path], { cwd: REPO, encoding: "utf8" });
  assert.equal(made.status, 0, `Python could not write the fixture:\n${made.stderr}`);
  return path;
}

/** The fixture, read once. */
export function loadFixture() {
  return JSON.parse(readFileSync(fixturePath(), "utf8"));
}
