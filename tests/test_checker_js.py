"""The scanner's offline checker (static/scan/*.js) held to Python: runs `node --test tests/js/`.

The vectors of tests/vectors/rules.json are shared as they are; for card codes this module
writes a fresh fixture with app/cardcodes.py (new keys, signed and tampered payloads, typed
numbers) and Python's verdict on each, so the JavaScript is checked against Python itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cardcodes import (
    ALPHABET,
    DATE_EPOCH,
    LAST_VALID_UNTIL,
    MAX_CODE_CHARS,
    CardPayload,
    CodeError,
    KeyRing,
    b45decode,
    b45encode,
    check_symbol,
    format_number,
    is_mistyped_number,
    load_keyring,
    new_number,
    normalise_number,
    parse_code,
    sign_payload,
    verify_payload,
)
from app.scan.bundle import encode_changed

REPO = Path(__file__).resolve().parent.parent
JS_TESTS = REPO / "tests" / "js"
VENDOR = REPO / "static" / "vendor" / "noble-ed25519"
FIXTURE_ENV_VAR = "CARD_CODES_FIXTURE"
MIN_JS_TESTS = 100

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
NOT_WHITESPACE = "\ufeff\u200b\u180e\u2060"  # JS's \s has U+FEFF; none of these is a Python space
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Latin, Greek and Cyrillic look-alikes, letterlike symbols (K, Å), Roman numerals, ligatures
# and full-width forms: whatever a careless toUpperCase() or NFKC would wrongly accept.
CHARACTER_RANGES = [(0, 0x250), (0x370, 0x500), (0x2000, 0x2070), (0x2100, 0x2190),
                    (0xFB00, 0xFB07), (0xFE50, 0xFE70), (0xFF00, 0xFF66)]


# --- the fixture ----------------------------------------------------------------------


def _outcome(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": call()}
    except CodeError as refused:
        return {"reason": refused.reason}


def _payload_json(payload: CardPayload) -> dict[str, Any]:
    return {"number": payload.number, "region_id": payload.region_id,
            "valid_until": payload.valid_until.isoformat(), "children": payload.children,
            "kind": payload.kind}


def _parsed_json(text: str, keys: dict[int, Any]) -> dict[str, Any]:
    parsed = parse_code(text, keys)
    payload = parsed.payload and _payload_json(parsed.payload)
    return {"number": parsed.number, "payload": payload}


def _space_key_id() -> int:
    return next(k for k in range(256) if b45encode(bytes([1, k])).startswith(" "))


def _private_keys(key_dir: Path) -> dict[int, Ed25519PrivateKey]:
    """Return the key load_keyring makes on first run (id 1) and keys 0, 2, 255 and a space id."""
    load_keyring(key_dir, {})
    first = serialization.load_pem_private_key((key_dir / "1.pem").read_bytes(), password=None)
    assert isinstance(first, Ed25519PrivateKey)
    more = {key_id: Ed25519PrivateKey.generate() for key_id in (0, 2, _space_key_id(), 255)}
    return {1: first, **more}


def _number_starting(symbol: str) -> str:
    body = symbol + new_number()[:8]
    return body + check_symbol(body)


def _signed_texts(rings: dict[int, KeyRing]) -> Iterator[tuple[str, str]]:
    """Yield payloads signed with each key; key 2 is left out of the published keys."""
    space_id = _space_key_id()
    cards = [
        ("personal", CardPayload(new_number(), 1, date(2026, 12, 31), 2, "personal"), 1),
        ("community", CardPayload(new_number(), 65535, date(2027, 3, 14), 10, "community"), 1),
        ("children 0, first date", CardPayload("0000000000", 0, DATE_EPOCH, 0, "personal"), 1),
        ("children 127, last date",
         CardPayload(_number_starting("Z"), 7, LAST_VALID_UNTIL, 127, "community"), 1),
        ("highest number", CardPayload("ZZZZZZZZZ" + check_symbol("ZZZZZZZZZ"), 3,
                                       date(2030, 1, 1), 127, "personal"), 1),
        ("key id 0", CardPayload(new_number(), 2, date(2026, 6, 30), 1, "personal"), 0),
        ("key id 255", CardPayload(new_number(), 2, date(2026, 6, 30), 3, "personal"), 255),
        (f"key id {space_id}, leading space",
         CardPayload(new_number(), 4, date(2026, 6, 30), 3, "personal"), space_id),
        ("unpublished key id 2", CardPayload(new_number(), 1, date(2026, 6, 30), 0, "personal"), 2),
    ]
    for name, payload, key_id in cards:
        yield name, sign_payload(payload, rings[key_id])


def _tampered_texts(valid: str, ring: KeyRing) -> Iterator[tuple[str, str]]:
    data = b45decode(valid)
    yield "a signed field changed", b45encode(data[:12] + bytes([data[12] ^ 1]) + data[13:])
    yield "a signature byte changed", b45encode(data[:40] + bytes([data[40] ^ 0x80]) + data[41:])
    yield "an unknown key id", b45encode(data[:1] + bytes([9]) + data[2:])
    yield "version 2", b45encode(bytes([2]) + data[1:])
    yield "one byte short", b45encode(data[:-1])
    yield "one byte long", b45encode(data + b"\0")
    yield "the last symbol dropped", valid[:-1]
    yield "lower case", valid.lower()
    yield "a symbol swapped", valid[:60] + ("A" if valid[60] != "A" else "B") + valid[61:]
    yield "over the length limit", valid * 5
    for name, value in (("number over the limit", len(ALPHABET) ** 9),
                        ("number 2**48-1", 2**48 - 1)):
        signed = data[:2] + value.to_bytes(6, "big") + data[8:13]
        yield f"{name}, signed", b45encode(signed + ring.sign(signed))
        yield f"{name}, unsigned", b45encode(signed + data[13:])
    yield "group out of range", "GGW" + valid[3:]


def _spaced_texts(text: str, label: str) -> Iterator[tuple[str, str]]:
    for char in WHITESPACE + NOT_WHITESPACE:
        yield f"{label} between two U+{ord(char):04X}", char + text + char
        yield f"{label} after U+{ord(char):04X} and a space", char + " " + text
    yield f"{label} after two spaces", "  " + text
    yield f"{label} without its first symbol", text[1:]
    yield f"{label} with a space inside", text[:50] + " " + text[50:]
    yield f"{label} twice", text + " " + text


def _payload_cases(private: dict[int, Ed25519PrivateKey]) -> list[dict[str, Any]]:
    rings = {key_id: KeyRing(private, current_id=key_id) for key_id in private}
    public = {key_id: key.public_key() for key_id, key in private.items() if key_id != 2}
    texts = list(_signed_texts(rings))
    personal, space = texts[0][1], next(t for n, t in texts if "leading space" in n)
    assert space.startswith(" ") and not personal.startswith(" ")
    texts += [(f"tampered: {n}", t) for n, t in _tampered_texts(personal, rings[1])]
    texts += list(_spaced_texts(personal, "payload")) + list(_spaced_texts(space, "space payload"))
    texts += [("empty", ""), ("not a code", "hello"), ("a URL", "https://example.org/c/abc")]
    cases = []
    for name, text in texts:
        case = {"name": name, "text": text,
                "verify": _outcome(lambda t=text: _payload_json(verify_payload(t, public))),
                "parse": _outcome(lambda t=text: _parsed_json(t, public))}
        if "ok" in case["verify"]:
            data = b45decode(text)
            case["bytes"] = {"key_id": data[1], "signed": data[:13].hex(), "signature": data[13:].hex()}
        cases.append(case)
    return cases


def _number_texts() -> Iterator[str]:
    for number in [new_number() for _ in range(12)] + ["0000000000"]:
        yield from (number, number.lower(), format_number(number), f"  {format_number(number)}\n")
        yield " ".join(number)
        yield "\u2013".join((number[:4], number[4:7], number[7:]))
        yield number.replace("0", "O").replace("1", "l").replace("5", "s").replace("V", "u")
        yield number.replace("0", "o").replace("1", "I").replace("5", "S").replace("V", "U")
        yield from (number[:-1], number + "0", number[1:] + number[0], "\ufeff" + number)
        yield number[1] + number[0] + number[2:]
        yield from (number[:3] + symbol + number[4:] for symbol in ALPHABET)
        padding = MAX_CODE_CHARS - len(number)
        yield from (" " * padding + number, " " * (padding + 1) + number)
    yield from ("", "-", "7KQD-3MZP-X", "\u017f" * 10, "\u0131" * 10, "\u212a" * 10, "\u2160" * 10)


def _symbol_map() -> dict[str, Any]:
    """Map each sample character to the symbol it stands for in a number, if any."""
    numbers = {symbol: _number_starting(symbol) for symbol in ALPHABET}
    plain = numbers["7"]
    chars = {chr(c) for start, end in CHARACTER_RANGES for c in range(start, end)}
    chars |= set(WHITESPACE + NOT_WHITESPACE + DASHES)
    means = {}
    for char in sorted(chars):
        found = [s for s, number in numbers.items() if normalise_number(char + number[1:]) == number]
        ignored = normalise_number(plain[:4] + char + plain[4:]) == plain
        means[char] = "" if ignored else (found[0] if found else None)
    ignorable = [c for c in range(0x10000) if normalise_number(plain[:4] + chr(c) + plain[4:]) == plain]
    return {"number": plain, "numbers": numbers, "means": means, "ignorable_bmp": ignorable}


def _base45_cases() -> list[dict[str, Any]]:
    texts = ["", "00", "000", "0", "0000", "FGW", "GGW", ":Z", "U5", "QED8WEX0", "%69 VD92EX0",
             "abc", "A\U0001f600", "A\u00c4C", "ZZZZ"]
    texts += [b45encode(os.urandom(size)) for size in (1, 2, 3, 4, 5, 13, 77)]
    texts += [b45encode(b"\xff" * 77), b45encode(b"\0" * 4)]
    cases = []
    for text in texts:
        try:
            cases.append({"text": text, "hex": b45decode(text).hex()})
        except ValueError:
            cases.append({"text": text, "hex": None})
    return cases


def _changed_cases() -> dict[str, Any]:
    """The offline bundle's changed cards as app/scan/bundle.py writes them, and what each says."""
    today, rng = date(2026, 3, 15), random.Random()
    cards = [(new_number(), today + timedelta(days=rng.randrange(0, 800)), rng.randrange(0, 4))
             for _ in range(300)]
    cards += [("0000000000", today, 0), ("ZZZZZZZZZ" + check_symbol("ZZZZZZZZZ"), today, 20)]
    known = {number for number, _day, _children in cards}
    return {"changed": encode_changed(cards, today),
            "cards": [{"number": n, "valid_until": d.isoformat(), "children": c} for n, d, c in cards],
            "absent": [n for n in (new_number() for _ in range(100)) if n not in known]}


def build_fixture(key_dir: Path) -> dict[str, Any]:
    """Return fresh keys, codes and Python's verdict on each, for tests/js/codes.test.mjs."""
    private = _private_keys(key_dir)
    published = KeyRing({k: key for k, key in private.items() if k != 2}).public_keys_raw_b64()
    numbers = []
    for text in _number_texts():
        canonical = normalise_number(text)
        numbers.append({"text": text, "normalised": canonical,
                        "formatted": canonical and format_number(canonical),
                        "mistyped": is_mistyped_number(text)})
    return {"keys": {str(k): key for k, key in published.items()},
            "payloads": _payload_cases(private), "numbers": numbers,
            "symbols": _symbol_map(), "base45": _base45_cases(), "bundle": _changed_cases()}


def write_fixture(path: str | Path) -> None:
    """Write a fresh fixture to `path` (the node tests call this when run on their own)."""
    with tempfile.TemporaryDirectory() as key_dir:
        fixture = build_fixture(Path(key_dir))
    Path(path).write_text(json.dumps(fixture, indent=1), encoding="utf-8")


# --- the tests ------------------------------------------------------------------------


def test_the_javascript_checker_agrees_with_python(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: the scanner's offline checker (static/scan/) cannot be "
                    "tested. Install Node.js 20 or later.")
    fixture = tmp_path / "payloads.json"
    write_fixture(fixture)
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs files in {JS_TESTS}"
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", *files],
        cwd=REPO, env={**os.environ, FIXTURE_ENV_VAR: str(fixture)},
        capture_output=True, text=True, timeout=300, check=False,
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"node --test failed:\n{output}"
    passed = re.search(r"^\S+ pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed[1]) >= MIN_JS_TESTS, f"too few node tests ran:\n{output}"


def test_the_fixture_covers_every_kind_of_code(tmp_path: Path) -> None:
    fixture = build_fixture(tmp_path)
    verdicts = [case["verify"] for case in fixture["payloads"]]
    assert {"reason": "bad_signature"} in verdicts and {"reason": "unknown_card"} in verdicts
    space_payloads = [c for c in fixture["payloads"] if "ok" in c["verify"] and c["text"][0] == " "]
    assert space_payloads
    kinds = {c["verify"]["ok"]["kind"] for c in fixture["payloads"] if "ok" in c["verify"]}
    assert kinds == {"personal", "community"}
    assert any(n["normalised"] is None for n in fixture["numbers"])
    assert any(n["normalised"] not in (None, n["text"]) for n in fixture["numbers"])


def test_the_vendored_ed25519_library_has_its_version_and_licence() -> None:
    assert re.fullmatch(r"2\.\d+\.\d+\n?", (VENDOR / "VERSION").read_text(encoding="utf-8"))
    assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    source = (VENDOR / "SOURCE").read_text(encoding="utf-8")
    recorded = re.search(r"index\.js sha256: ([0-9a-f]{64})", source)
    assert recorded, "SOURCE must record the sha256 of index.js"
    assert hashlib.sha256((VENDOR / "index.js").read_bytes()).hexdigest() == recorded[1]


if __name__ == "__main__":
    write_fixture(sys.argv[1])
