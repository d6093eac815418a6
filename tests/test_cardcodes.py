"""Tests for app.cardcodes: card numbers, Base45, signed payloads and signing keys."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import stat
import struct
from datetime import date, datetime, timedelta

import pytest
import qrcode
import qrcode.util
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cardcodes import (
    ALPHABET,
    B45_ALPHABET,
    DATE_EPOCH,
    KEYS_ENV_VAR,
    LAST_VALID_UNTIL,
    PAYLOAD_BYTES,
    PAYLOAD_CHARS,
    PAYLOAD_VERSION,
    CardPayload,
    CodeError,
    KeyRing,
    ParsedCode,
    b45decode,
    b45encode,
    check_symbol,
    format_number,
    is_mistyped_number,
    is_valid_number,
    load_keyring,
    new_number,
    normalise_number,
    parse_code,
    raw_code_hash,
    rotate_key,
    sign_payload,
    verify_payload,
)

CODE39 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
QR_ALPHANUMERIC = qrcode.util.ALPHA_NUM.decode("ascii")
LOWEST_NUMBER = "0000000000"
HIGHEST_NUMBER = "ZZZZZZZZZ" + check_symbol("ZZZZZZZZZ")

card_numbers = st.text(alphabet=ALPHABET, min_size=9, max_size=9).map(
    lambda body: body + check_symbol(body)
)


def a_payload(**changes: object) -> CardPayload:
    """Build a typical payload, with some fields changed."""
    payload = CardPayload(
        number="7KQD3MZPX" + check_symbol("7KQD3MZPX"),
        region_id=12,
        valid_until=date(2026, 12, 31),
        children=2,
        kind="personal",
    )
    return dataclasses.replace(payload, **changes)


@pytest.fixture(scope="module")
def keyring() -> KeyRing:
    """An in-memory key ring with key id 1."""
    return KeyRing({1: Ed25519PrivateKey.generate()})


@pytest.fixture(scope="module")
def public_keys(keyring: KeyRing) -> dict[int, Ed25519PublicKey]:
    """The public keys of the module's key ring."""
    return keyring.public_keys()


# --- Card numbers ---------------------------------------------------------------------


def test_alphabet_is_31_code39_symbols_without_look_alikes() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert set(ALPHABET) <= set(CODE39)
    assert not set(ALPHABET) & set("ILOSU")


def test_new_numbers_are_valid_canonical_and_distinct() -> None:
    numbers = [new_number() for _ in range(1000)]
    assert all(len(n) == 10 and set(n) <= set(ALPHABET) for n in numbers)
    assert all(is_valid_number(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


@given(card_numbers)
def test_check_symbol_makes_the_weighted_sum_divisible_by_31(number: str) -> None:
    weighted = sum(i * ALPHABET.index(s) for i, s in enumerate(number, start=1))
    assert weighted % 31 == 0
    assert is_valid_number(number)


@pytest.mark.parametrize("body", ["", "12345678", "1234567890", "1234O6789", "abcdefghj"])
def test_check_symbol_refuses_a_body_that_is_not_nine_alphabet_symbols(
    body: str,
) -> None:
    with pytest.raises(ValueError):
        check_symbol(body)


@settings(max_examples=10_000, deadline=None)
@given(card_numbers)
def test_every_single_substitution_is_caught(number: str) -> None:
    for position, original in enumerate(number):
        for other in ALPHABET.replace(original, ""):
            changed = number[:position] + other + number[position + 1 :]
            assert not is_valid_number(changed), changed


@settings(max_examples=10_000, deadline=None)
@given(card_numbers)
def test_every_adjacent_swap_of_different_symbols_is_caught(number: str) -> None:
    for position in range(len(number) - 1):
        first, second = number[position], number[position + 1]
        if first != second:
            swapped = number[:position] + second + first + number[position + 2 :]
            assert not is_valid_number(swapped), swapped


@pytest.mark.parametrize(
    "text",
    ["", "000000000", "00000000000", "0000000001", "000000000o", "0000 00000", "ÅÄÖ"],
)
def test_is_valid_number_refuses_anything_but_a_canonical_number(text: str) -> None:
    assert not is_valid_number(text)


# How a person may write each symbol: either case, and the look-alikes of 0, 1, 5, V.
WRITTEN_AS = {"0": "0Oo", "1": "1IiLl", "5": "5Ss", "V": "VvUu"}
SEPARATORS = ["", "", "", " ", "-", "\u2013", " - ", "\t"]


@st.composite
def written_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A number, and the same number as a person or a scanner might write it."""
    number = draw(card_numbers)
    parts = [draw(st.sampled_from(["", " ", "\n", "-"]))]
    for symbol in number:
        parts.append(draw(st.sampled_from(WRITTEN_AS.get(symbol, symbol + symbol.lower()))))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return number, "".join(parts)


@settings(max_examples=1_000, deadline=None)
@given(written_numbers())
def test_normalise_accepts_case_spaces_hyphens_and_look_alikes(
    written: tuple[str, str],
) -> None:
    number, text = written
    assert normalise_number(text) == number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("o1SV-000-00P", "015V00000P"),
        ("OIsu 000 00p", "015V00000P"),
        ("oLSU00000P", "015V00000P"),
        ("  015v00000p\r\n", "015V00000P"),
        ("015V\u2013000\u201300P", "015V00000P"),
        ("0-1-5-V-0-0-0-0-0-P", "015V00000P"),
    ],
)
def test_normalise_maps_each_look_alike_back(text: str, number: str) -> None:
    assert is_valid_number(number)
    assert normalise_number(text) == number


@pytest.mark.parametrize(
    "text", ["", "015V00000", "015V0000000", "015V000001", "015V00000*", "ß15V00000P"]
)
def test_normalise_refuses_wrong_length_check_or_symbols(text: str) -> None:
    assert normalise_number(text) is None


@given(card_numbers)
def test_format_groups_four_three_three_and_normalises_back(number: str) -> None:
    formatted = format_number(number)
    assert formatted == f"{number[:4]}-{number[4:7]}-{number[7:]}"
    assert set(formatted) <= set(CODE39)
    assert normalise_number(formatted) == number


def test_format_refuses_an_invalid_number() -> None:
    with pytest.raises(ValueError):
        format_number("0000000001")


# --- Base45 ---------------------------------------------------------------------------

RFC_9285_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
    (b"", ""),
]


@pytest.mark.parametrize(("data", "text"), RFC_9285_EXAMPLES)
def test_base45_encodes_and_decodes_the_rfc_examples(data: bytes, text: str) -> None:
    assert b45encode(data) == text
    assert b45decode(text) == data


@given(st.binary(max_size=200))
def test_base45_round_trips_any_bytes(data: bytes) -> None:
    text = b45encode(data)
    assert set(text) <= set(B45_ALPHABET)
    assert b45decode(text) == data


@pytest.mark.parametrize("text", ["A", "ABCD", "GGW", ":::", "ZZ", "bb8", "BB\u0660"])
def test_base45_decode_refuses_text_that_is_not_base45(text: str) -> None:
    with pytest.raises(ValueError):
        b45decode(text)


# --- Signed payloads ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        a_payload(),
        a_payload(kind="community", children=0),
        a_payload(kind="personal", children=127),
        a_payload(kind="community", children=127),
        a_payload(number=LOWEST_NUMBER, region_id=0, valid_until=DATE_EPOCH),
        a_payload(number=HIGHEST_NUMBER, region_id=65535, valid_until=LAST_VALID_UNTIL),
    ],
)
def test_payload_round_trips_every_field(
    payload: CardPayload, keyring: KeyRing, public_keys: dict
) -> None:
    assert verify_payload(sign_payload(payload, keyring), public_keys) == payload


payloads = st.builds(
    CardPayload,
    number=card_numbers,
    region_id=st.integers(0, 65535),
    valid_until=st.dates(DATE_EPOCH, LAST_VALID_UNTIL),
    children=st.integers(0, 127),
    kind=st.sampled_from(["personal", "community"]),
)


@given(payload=payloads)
def test_any_valid_payload_round_trips(
    payload: CardPayload, keyring: KeyRing, public_keys: dict
) -> None:
    text = sign_payload(payload, keyring)
    assert len(text) == PAYLOAD_CHARS
    assert verify_payload(text, public_keys) == payload


def test_payload_bytes_follow_the_version_1_layout(keyring: KeyRing) -> None:
    payload = a_payload(kind="community", children=5, region_id=0x1234)
    data = b45decode(sign_payload(payload, keyring))
    body_value = 0
    for symbol in payload.number[:9]:
        body_value = body_value * 31 + ALPHABET.index(symbol)
    days = (payload.valid_until - date(2020, 1, 1)).days
    assert len(data) == PAYLOAD_BYTES == 77
    assert data[:13] == (
        bytes([1, 1])  # version, key id
        + body_value.to_bytes(6, "big")
        + struct.pack(">HHB", 0x1234, days, 0x80 | 5)
    )
    public_key = keyring.public_keys()[1]
    public_key.verify(data[13:], data[:13])


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "0000000001"},
        {"number": "7KQD-3MZ-PX"},
        {"region_id": -1},
        {"region_id": 65536},
        {"valid_until": DATE_EPOCH - timedelta(days=1)},
        {"valid_until": LAST_VALID_UNTIL + timedelta(days=1)},
        {"children": -1},
        {"children": 128},
        {"kind": "family"},
    ],
)
def test_sign_refuses_fields_out_of_range(changes: dict, keyring: KeyRing) -> None:
    with pytest.raises(ValueError):
        sign_payload(a_payload(**changes), keyring)


def test_sign_refuses_a_datetime_for_valid_until(keyring: KeyRing) -> None:
    with pytest.raises(TypeError):
        sign_payload(a_payload(valid_until=datetime(2026, 1, 1)), keyring)


def expected_reason_after_change(changed: str) -> str:
    """The reason a one-character change must give.

    "unknown_card" when the text is no longer Base45 (a group now exceeds its byte
    range) or the change hit the version byte; "bad_signature" in every other case:
    a changed key id, field or signature byte leaves a signature that fails (there is
    only one key, so a changed key id is an unknown key, also "bad_signature").
    """
    try:
        data = b45decode(changed)
    except ValueError:
        return "unknown_card"
    return "unknown_card" if data[0] != PAYLOAD_VERSION else "bad_signature"


def test_changing_any_character_never_yields_a_payload(keyring: KeyRing, public_keys: dict) -> None:
    text = sign_payload(a_payload(), keyring)
    seen = {"unknown_card": 0, "bad_signature": 0}
    for position, original in enumerate(text):
        for other in B45_ALPHABET.replace(original, ""):
            changed = text[:position] + other + text[position + 1 :]
            with pytest.raises(CodeError) as refused:
                verify_payload(changed, public_keys)
            assert refused.value.reason == expected_reason_after_change(changed)
            seen[refused.value.reason] += 1
    assert seen["bad_signature"] > seen["unknown_card"] > 0
    assert sum(seen.values()) == PAYLOAD_CHARS * 44


def test_payload_signed_with_a_key_id_not_in_public_keys_is_bad_signature(
    public_keys: dict,
) -> None:
    other_ring = KeyRing({7: Ed25519PrivateKey.generate()})
    with pytest.raises(CodeError) as refused:
        verify_payload(sign_payload(a_payload(), other_ring), public_keys)
    assert refused.value.reason == "bad_signature"


def test_payload_signed_by_another_key_with_the_same_id_is_bad_signature(
    public_keys: dict,
) -> None:
    impostor = KeyRing({1: Ed25519PrivateKey.generate()})
    with pytest.raises(CodeError) as refused:
        verify_payload(sign_payload(a_payload(), impostor), public_keys)
    assert refused.value.reason == "bad_signature"


def signed_bytes(keyring: KeyRing, fields: bytes) -> str:
    """Sign arbitrary field bytes, to build payloads sign_payload would never make."""
    return b45encode(fields + keyring.sign(fields))


@pytest.mark.parametrize(
    "fields",
    [
        struct.pack(">BB6sHHB", 2, 1, bytes(6), 1, 1, 0),  # unknown version
        struct.pack(">BB6sHHB", 0, 1, bytes(6), 1, 1, 0),  # unknown version
        struct.pack(">BB6sHHB", 1, 1, (31**9).to_bytes(6, "big"), 1, 1, 0),  # number
        struct.pack(">BB6sHHB", 1, 1, bytes(6), 1, 1, 0) + b"\x00",  # too long
        struct.pack(">BB6sHHB", 1, 1, bytes(6), 1, 1, 0)[:-1],  # too short
    ],
)
def test_correctly_signed_but_malformed_payload_is_unknown_card(
    fields: bytes, keyring: KeyRing, public_keys: dict
) -> None:
    with pytest.raises(CodeError) as refused:
        verify_payload(signed_bytes(keyring, fields), public_keys)
    assert refused.value.reason == "unknown_card"


def test_largest_payload_fits_qr_version_5_at_error_correction_m() -> None:
    largest = a_payload(
        number=HIGHEST_NUMBER,
        region_id=65535,
        valid_until=LAST_VALID_UNTIL,
        children=127,
        kind="community",
    )
    text = sign_payload(largest, KeyRing({255: Ed25519PrivateKey.generate()}))
    # Every payload is the same length: Base45 length depends on the byte count only.
    assert len(text) == PAYLOAD_CHARS == 116
    assert set(text) <= set(QR_ALPHANUMERIC)
    fixed = qrcode.QRCode(version=5, error_correction=qrcode.constants.ERROR_CORRECT_M)
    fixed.add_data(text)
    fixed.make(fit=False)
    fitted = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    fitted.add_data(text)
    fitted.make(fit=True)
    assert fitted.version <= 5
    assert {chunk.mode for chunk in fitted.data_list} <= {
        qrcode.util.MODE_ALPHA_NUM,
        qrcode.util.MODE_NUMBER,
    }


# --- parse_code -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["015V-000-00P", " 015v 000 00p\r\n", "OISU00000P"])
def test_parse_code_reads_a_typed_or_barcode_number(text: str, public_keys: dict) -> None:
    assert parse_code(text, public_keys) == ParsedCode("015V00000P", None)


@pytest.mark.parametrize("around", [("", ""), ("", "\r\n"), ("  ", "\n"), ("\t", " ")])
def test_parse_code_reads_a_payload_with_surrounding_whitespace(
    around: tuple[str, str], keyring: KeyRing, public_keys: dict
) -> None:
    payload = a_payload()
    text = around[0] + sign_payload(payload, keyring) + around[1]
    assert parse_code(text, public_keys) == ParsedCode(payload.number, payload)


def test_parse_code_keeps_the_leading_space_of_a_payload_signed_with_key_id_5() -> None:
    ring = KeyRing({5: Ed25519PrivateKey.generate()})
    payload = a_payload()
    text = sign_payload(payload, ring)
    assert text.startswith(" ")
    for scanned in [text, text + "\r\n", "\n" + text, "\t" + text + " "]:
        assert parse_code(scanned, ring.public_keys()).payload == payload


def test_parse_code_reports_a_tampered_payload_as_bad_signature(
    keyring: KeyRing, public_keys: dict
) -> None:
    text = sign_payload(a_payload(), keyring)
    tampered = text[:-10] + ("0" if text[-10] != "0" else "1") + text[-9:]
    with pytest.raises(CodeError) as refused:
        parse_code(tampered + "\n", public_keys)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "015V000001",
        "https://example.org/c/abc",
        "\x00",
        "\ud800",
        "015V00000P" + " " * 503,
        "A" * 10_000,
    ],
)
def test_parse_code_refuses_what_is_not_a_card_as_unknown_card(
    text: str, public_keys: dict
) -> None:
    with pytest.raises(CodeError) as refused:
        parse_code(text, public_keys)
    assert refused.value.reason == "unknown_card"


arbitrary_codes = st.one_of(
    st.text(max_size=600),
    st.text(alphabet=B45_ALPHABET + " \r\n", max_size=130),
    st.binary(min_size=77, max_size=77).map(b45encode),
    st.binary(min_size=75, max_size=75).map(lambda b: b45encode(b"\x01\x01" + b)),
)


@settings(max_examples=1_000, deadline=None)
@given(text=arbitrary_codes)
def test_parse_code_raises_nothing_but_code_error_for_any_text(
    text: str, public_keys: dict
) -> None:
    try:
        parsed = parse_code(text, public_keys)
    except CodeError as refused:
        assert refused.reason in {"unknown_card", "bad_signature"}
    else:
        assert parsed.payload is None
        assert is_valid_number(parsed.number)


def test_raw_code_hash_is_the_sha256_of_the_unstripped_text() -> None:
    assert raw_code_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert raw_code_hash(" abc") != raw_code_hash("abc")
    assert len(raw_code_hash("\ud800")) == 64


# --- Keys -----------------------------------------------------------------------------


def test_first_load_generates_key_1_in_a_private_directory(tmp_path) -> None:
    key_dir = tmp_path / "instance" / "keys"
    ring = load_keyring(key_dir, {})
    assert ring.current_id == 1
    assert sorted(p.name for p in key_dir.iterdir()) == ["1.pem"]
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((key_dir / "1.pem").stat().st_mode) == 0o600
    again = load_keyring(key_dir, {})
    assert public_raw(again.public_keys()[1]) == public_raw(ring.public_keys()[1])


def public_raw(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_rotation_keeps_old_payloads_valid_and_signs_new_ones_with_the_new_id(
    tmp_path,
) -> None:
    old_text = sign_payload(a_payload(), load_keyring(tmp_path, {}))
    assert rotate_key(tmp_path) == 2
    ring = load_keyring(tmp_path, {})
    assert ring.current_id == 2
    assert verify_payload(old_text, ring.public_keys()) == a_payload()
    new_text = sign_payload(a_payload(), ring)
    assert b45decode(new_text)[1] == 2
    assert verify_payload(new_text, ring.public_keys()) == a_payload()


def test_rotation_skips_key_ids_whose_payloads_would_start_with_a_space(
    tmp_path,
) -> None:
    assert [rotate_key(tmp_path) for _ in range(5)] == [1, 2, 3, 4, 6]
    ring = load_keyring(tmp_path, {})
    assert not sign_payload(a_payload(), ring).startswith(" ")


def test_rotation_refuses_to_go_past_key_id_255(tmp_path) -> None:
    rotate_key(tmp_path)
    (tmp_path / "255.pem").write_bytes((tmp_path / "1.pem").read_bytes())
    assert load_keyring(tmp_path, {}).current_id == 255
    with pytest.raises(ValueError):
        rotate_key(tmp_path)


def test_load_ignores_files_that_are_not_key_files(tmp_path) -> None:
    rotate_key(tmp_path)
    for name in ["notes.txt", "01.pem", "256.pem", ".new-key-x.tmp"]:
        (tmp_path / name).write_text("not a key")
    assert set(load_keyring(tmp_path, {}).public_keys()) == {1}


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def test_environment_keys_load_and_the_highest_id_is_current(tmp_path) -> None:
    seeds = {1: os.urandom(32), 3: os.urandom(32)}
    environ = {KEYS_ENV_VAR: ", ".join(f"{kid}:{b64(s)}" for kid, s in seeds.items())}
    ring = load_keyring(tmp_path / "keys", environ)
    assert ring.current_id == 3
    assert not (tmp_path / "keys").exists()
    for kid, seed in seeds.items():
        expected = Ed25519PrivateKey.from_private_bytes(seed).public_key()
        assert public_raw(ring.public_keys()[kid]) == public_raw(expected)
    text = sign_payload(a_payload(), ring)
    assert verify_payload(text, ring.public_keys()) == a_payload()


def test_blank_environment_variable_falls_back_to_key_files(tmp_path) -> None:
    assert load_keyring(tmp_path, {KEYS_ENV_VAR: "  "}).current_id == 1
    assert (tmp_path / "1.pem").exists()


SEED = b64(bytes(range(32)))


@pytest.mark.parametrize(
    "value",
    [
        f"x:{SEED}",
        SEED,
        f"256:{SEED}",
        f"-1:{SEED}",
        f"1:{SEED},1:{SEED}",
        f"1:{SEED[:-4]}",
        f"1:{b64(bytes(33))}",
        f"1:{SEED}!",
    ],
)
def test_malformed_environment_keys_are_refused_without_echoing_the_seed(
    value: str, tmp_path
) -> None:
    with pytest.raises(ValueError) as refused:
        load_keyring(tmp_path, {KEYS_ENV_VAR: value})
    assert SEED[:8] not in str(refused.value)


def test_public_keys_raw_b64_are_raw_32_byte_keys_that_verify(keyring: KeyRing) -> None:
    signature = keyring.sign(b"data")
    raw = base64.b64decode(keyring.public_keys_raw_b64()[1], validate=True)
    assert len(raw) == 32
    Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"data")


@pytest.mark.parametrize(("keys", "current_id"), [({}, None), ({256: None}, None), ({1: None}, 2)])
def test_key_ring_refuses_no_keys_bad_ids_or_a_missing_current_key(
    keys: dict, current_id: int | None
) -> None:
    keys = {kid: Ed25519PrivateKey.generate() for kid in keys}
    with pytest.raises(ValueError):
        KeyRing(keys, current_id)


# --- typing errors -------------------------------------------------------------------


def test_every_single_wrong_symbol_or_swap_of_a_number_is_a_typing_error() -> None:
    number = new_number()
    typos = [number[:i] + symbol + number[i + 1:] for i in range(10) for symbol in ALPHABET
             if symbol != number[i]]
    typos += [number[:i] + number[i + 1] + number[i] + number[i + 2:] for i in range(9)
              if number[i] != number[i + 1]]
    assert all(is_mistyped_number(typo) for typo in typos)


@pytest.mark.parametrize("short_or_long", [lambda n: n[:-1], lambda n: n + "7", lambda n: n[:4],
                                           lambda n: f"{n[:4]}-{n[4:7]}-{n[7:9]}".lower()])
def test_a_number_one_symbol_short_or_long_is_a_typing_error(short_or_long) -> None:
    assert is_mistyped_number(short_or_long(new_number()))


def test_a_valid_number_a_payload_or_plain_text_is_not_a_typing_error() -> None:
    number = new_number()
    assert not is_mistyped_number(number)
    assert not is_mistyped_number(format_number(number).lower())
    assert not is_mistyped_number(number + number)  # too long to be one number
    assert not is_mistyped_number("")
    assert not is_mistyped_number("hello there, world")
    assert not is_mistyped_number("A" * 5000)
