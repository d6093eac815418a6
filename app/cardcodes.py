"""Card numbers, their check symbol and signed QR payloads (DESIGN §5).

Pure code: no Flask and no database, so the scanner API, printing, the CLI and the
tests all share one definition of what a card code is.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
import string
import struct
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

# --- Card numbers -------------------------------------------------------------------

# 31 symbols, a prime, so every weight and every difference of two symbols is invertible
# mod 31; I L O S U are left out because they are read as 1 1 0 5 V.
ALPHABET = "0123456789ABCDEFGHJKMNPQRTVWXYZ"
BODY_LENGTH = 9
NUMBER_LENGTH = 10
MAX_CODE_CHARS = 512  # longer input is refused unread: no code of ours is near it
MISTYPED_MAX_SYMBOLS = NUMBER_LENGTH + 2  # a typed number with a slip or two; a payload is 116
_BASE = len(ALPHABET)
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_CHECK_WEIGHT_INVERSE = pow(NUMBER_LENGTH, -1, _BASE)
_LOOK_ALIKES = {"O": "0", "I": "1", "L": "1", "S": "5", "U": "V"}
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_NORMALISE = str.maketrans(
    {
        **{letter: letter.upper() for letter in string.ascii_lowercase},
        **_LOOK_ALIKES,
        **{lower.lower(): digit for lower, digit in _LOOK_ALIKES.items()},
        **dict.fromkeys(_DASHES),
    }
)


def _weighted_sum(symbols: str) -> int:
    return sum(weight * _VALUE[symbol] for weight, symbol in enumerate(symbols, start=1))


def check_symbol(body: str) -> str:
    """Return the check symbol that makes `body` (9 symbols) a valid card number."""
    if len(body) != BODY_LENGTH or any(symbol not in _VALUE for symbol in body):
        raise ValueError(f"a card number body is {BODY_LENGTH} symbols of ALPHABET")
    # Solve 10·c ≡ −Σ i·vᵢ (mod 31) for the check value c.
    return ALPHABET[-_weighted_sum(body) * _CHECK_WEIGHT_INVERSE % _BASE]


def new_number() -> str:
    """Return a new random canonical card number (≈44.6 random bits)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_symbol(body)


def is_valid_number(canonical: str) -> bool:
    """Tell whether `canonical` is 10 alphabet symbols with a correct check symbol."""
    if len(canonical) != NUMBER_LENGTH:
        return False
    try:
        return _weighted_sum(canonical) % _BASE == 0
    except KeyError:  # a symbol outside ALPHABET
        return False


def normalise_number(text: str) -> str | None:
    """Return the canonical number a person or scanner meant by `text`, or None."""
    if len(text) > MAX_CODE_CHARS:
        return None
    candidate = "".join(text.split()).translate(_NORMALISE)
    return candidate if is_valid_number(candidate) else None


def is_mistyped_number(text: str) -> bool:
    """Tell whether `text` reads as a card number typed wrong: up to 12 of the number's symbols
    (ten and a slip or two) that are not a valid number (a typing error, not an unknown card)."""
    if len(text) > MAX_CODE_CHARS:
        return False
    candidate = "".join(text.split()).translate(_NORMALISE)
    return (0 < len(candidate) <= MISTYPED_MAX_SYMBOLS
            and all(symbol in _VALUE for symbol in candidate)
            and not is_valid_number(candidate))


def format_number(canonical: str) -> str:
    """Return the number grouped for display and print, as XXXX-XXX-XXX."""
    if not is_valid_number(canonical):
        raise ValueError("not a valid canonical card number")
    return f"{canonical[:4]}-{canonical[4:7]}-{canonical[7:]}"


def _number_to_int(canonical: str) -> int:
    value = 0
    for symbol in canonical[:BODY_LENGTH]:
        value = value * _BASE + _VALUE[symbol]
    return value


def _number_from_int(value: int) -> str:
    symbols = []
    for _ in range(BODY_LENGTH):
        value, digit = divmod(value, _BASE)
        symbols.append(ALPHABET[digit])
    body = "".join(reversed(symbols))
    return body + check_symbol(body)


# --- Base45 (RFC 9285) ----------------------------------------------------------------

B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = {symbol: value for value, symbol in enumerate(B45_ALPHABET)}


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text (RFC 9285)."""
    out = []
    for start in range(0, len(data), 2):
        chunk = data[start : start + 2]
        value = int.from_bytes(chunk, "big")
        for _ in range(len(chunk) + 1):
            value, digit = divmod(value, 45)
            out.append(B45_ALPHABET[digit])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode Base45 text (RFC 9285); raise ValueError if it is not valid Base45."""
    if len(text) % 3 == 1:
        raise ValueError("Base45 text cannot have a length of 1 mod 3")
    out = bytearray()
    for start in range(0, len(text), 3):
        chunk = text[start : start + 3]
        try:
            value = sum(_B45_VALUE[s] * 45**i for i, s in enumerate(chunk))
        except KeyError:
            raise ValueError("not a Base45 symbol") from None
        size = len(chunk) - 1
        if value >= 256**size:
            raise ValueError("Base45 group out of range")
        out += value.to_bytes(size, "big")
    return bytes(out)


# --- Signed payloads ------------------------------------------------------------------

CardKind = Literal["personal", "community"]
CodeReason = Literal["unknown_card", "bad_signature"]

PAYLOAD_VERSION = 1
MAX_KEY_ID = 255
MAX_CHILDREN = 0x7F
MAX_REGION_ID = 0xFFFF
DATE_EPOCH = date(2020, 1, 1)
LAST_VALID_UNTIL = DATE_EPOCH + timedelta(days=0xFFFF)
# version | key id | number body | region | valid_until days | kind bit + children
_FIELDS = struct.Struct(">BB6sHHB")
_SIGNATURE_BYTES = 64
PAYLOAD_BYTES = _FIELDS.size + _SIGNATURE_BYTES
PAYLOAD_CHARS = len(b45encode(bytes(PAYLOAD_BYTES)))
_COMMUNITY_BIT = 0x80
_NUMBER_LIMIT = _BASE**BODY_LENGTH
_LEADING_NON_SPACE_WHITESPACE = re.compile(r"\A[^\S ]+")


@dataclass(frozen=True)
class CardPayload:
    """The signed fields a card's QR carries; nothing personal."""

    number: str
    region_id: int
    valid_until: date
    children: int
    kind: CardKind


@dataclass(frozen=True)
class ParsedCode:
    """What a scanned or typed code said: a card number, and the payload if it was one."""

    number: str
    payload: CardPayload | None


class CodeError(Exception):
    """A code that cannot be used; `reason` is a stable reason code (DESIGN §4)."""

    def __init__(self, reason: CodeReason) -> None:
        super().__init__(reason)
        self.reason: CodeReason = reason


def _check_fields(payload: CardPayload) -> None:
    if not is_valid_number(payload.number):
        raise ValueError("number is not a valid canonical card number")
    if not 0 <= payload.region_id <= MAX_REGION_ID:
        raise ValueError(f"region_id must be 0..{MAX_REGION_ID}")
    # A datetime is a date too, but subtracting it from a date raises later.
    if isinstance(payload.valid_until, datetime) or not isinstance(payload.valid_until, date):
        raise TypeError("valid_until must be a datetime.date")
    if not DATE_EPOCH <= payload.valid_until <= LAST_VALID_UNTIL:
        raise ValueError(f"valid_until must be {DATE_EPOCH}..{LAST_VALID_UNTIL}")
    if not 0 <= payload.children <= MAX_CHILDREN:
        raise ValueError(f"children must be 0..{MAX_CHILDREN}")
    if payload.kind not in ("personal", "community"):
        raise ValueError("kind must be 'personal' or 'community'")


def _pack_fields(payload: CardPayload, key_id: int) -> bytes:
    kind_bit = _COMMUNITY_BIT if payload.kind == "community" else 0
    return _FIELDS.pack(
        PAYLOAD_VERSION,
        key_id,
        _number_to_int(payload.number).to_bytes(6, "big"),
        payload.region_id,
        (payload.valid_until - DATE_EPOCH).days,
        kind_bit | payload.children,
    )


def _unpack_fields(signed: bytes) -> CardPayload:
    _, _, number, region_id, days, kind_and_children = _FIELDS.unpack(signed)
    number_value = int.from_bytes(number, "big")
    if number_value >= _NUMBER_LIMIT:
        raise CodeError("unknown_card")
    return CardPayload(
        number=_number_from_int(number_value),
        region_id=region_id,
        valid_until=DATE_EPOCH + timedelta(days=days),
        children=kind_and_children & MAX_CHILDREN,
        kind="community" if kind_and_children & _COMMUNITY_BIT else "personal",
    )


def sign_payload(payload: CardPayload, keyring: KeyRing) -> str:
    """Return the Base45 text of `payload` signed with the key ring's current key."""
    _check_fields(payload)
    signed = _pack_fields(payload, keyring.current_id)
    return b45encode(signed + keyring.sign(signed))


def verify_payload(text: str, public_keys: Mapping[int, Ed25519PublicKey]) -> CardPayload:
    """Return the payload in Base45 `text` if its signature verifies; raise CodeError."""
    if len(text) > MAX_CODE_CHARS:
        raise CodeError("unknown_card")
    try:
        data = b45decode(text)
    except ValueError:
        raise CodeError("unknown_card") from None
    if len(data) != PAYLOAD_BYTES or data[0] != PAYLOAD_VERSION:
        raise CodeError("unknown_card")
    public_key = public_keys.get(data[1])
    if public_key is None:
        raise CodeError("bad_signature")
    signed, signature = data[: _FIELDS.size], data[_FIELDS.size :]
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        raise CodeError("bad_signature") from None
    # Fields are read only once the signature vouches for them.
    return _unpack_fields(signed)


def _payload_candidates(text: str) -> Iterable[str]:
    # A payload never ends in a space, but "space" is a Base45 symbol and a payload
    # begins with one for some key ids: keep a leading space first, drop it second.
    trimmed = text.rstrip()
    first = _LEADING_NON_SPACE_WHITESPACE.sub("", trimmed)
    return dict.fromkeys([first, trimmed.lstrip()])


def parse_code(text: str, public_keys: Mapping[int, Ed25519PublicKey]) -> ParsedCode:
    """Read whatever a scanner delivered or a person typed; raise only CodeError."""
    if len(text) > MAX_CODE_CHARS:
        raise CodeError("unknown_card")
    number = normalise_number(text)
    if number is not None:
        return ParsedCode(number, None)
    error = CodeError("unknown_card")
    for candidate in _payload_candidates(text):
        try:
            payload = verify_payload(candidate, public_keys)
        except CodeError as refused:
            # "bad_signature" says more than "unknown_card": keep it if any try said so.
            error = refused if refused.reason == "bad_signature" else error
        else:
            return ParsedCode(payload.number, payload)
    raise error


def raw_code_hash(text: str) -> str:
    """Return the SHA-256 hex digest of a raw code, for auditing refused scans."""
    # surrogatepass: JSON can deliver lone surrogates, and the audit must not fail on them.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- Keys -----------------------------------------------------------------------------

KEYS_ENV_VAR = "CARD_SIGNING_KEYS"
FIRST_KEY_ID = 1
_SEED_BYTES = 32
_KEY_FILE = re.compile(r"(0|[1-9][0-9]{0,2})\.pem")
_ENV_KEY_ID = re.compile(r"(0|[1-9][0-9]{0,2})")


class KeyRing:
    """Ed25519 private keys by key id; new payloads are signed with the current one."""

    def __init__(
        self,
        private_keys: Mapping[int, Ed25519PrivateKey],
        current_id: int | None = None,
    ) -> None:
        if not private_keys:
            raise ValueError("a key ring needs at least one key")
        if any(not 0 <= key_id <= MAX_KEY_ID for key_id in private_keys):
            raise ValueError(f"key ids must be 0..{MAX_KEY_ID}")
        self._keys = dict(private_keys)
        self._current_id = max(self._keys) if current_id is None else current_id
        if self._current_id not in self._keys:
            raise ValueError("the current key id has no key")

    @property
    def current_id(self) -> int:
        """The key id that new payloads are signed with."""
        return self._current_id

    def sign(self, data: bytes) -> bytes:
        """Sign `data` with the current key."""
        return self._keys[self._current_id].sign(data)

    def public_keys(self) -> dict[int, Ed25519PublicKey]:
        """Return every public key by key id, old ones too."""
        return {key_id: key.public_key() for key_id, key in self._keys.items()}

    def public_keys_raw_b64(self) -> dict[int, str]:
        """Return every raw 32-byte public key as standard base64, for the browser."""
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        return {
            key_id: base64.b64encode(key.public_bytes(*raw)).decode("ascii")
            for key_id, key in self.public_keys().items()
        }


def _parse_env_keys(value: str) -> dict[int, Ed25519PrivateKey]:
    keys: dict[int, Ed25519PrivateKey] = {}
    for position, entry in enumerate(value.split(","), start=1):
        if not entry.strip():
            continue
        key_id_text, _, seed_text = (part.strip() for part in entry.partition(":"))
        # Messages name the entry's position, never its text: that holds a secret.
        where = f"{KEYS_ENV_VAR} entry {position}"
        if not _ENV_KEY_ID.fullmatch(key_id_text) or int(key_id_text) > MAX_KEY_ID:
            raise ValueError(f"{where}: expected kid:base64seed with kid 0..{MAX_KEY_ID}")
        if int(key_id_text) in keys:
            raise ValueError(f"{where}: key id {key_id_text} appears twice")
        try:
            seed = base64.b64decode(seed_text, validate=True)
        except binascii.Error:
            raise ValueError(f"{where}: the seed is not standard base64") from None
        if len(seed) != _SEED_BYTES:
            raise ValueError(f"{where}: the seed must be {_SEED_BYTES} bytes")
        keys[int(key_id_text)] = Ed25519PrivateKey.from_private_bytes(seed)
    return keys


def _key_files(key_dir: Path) -> dict[int, Path]:
    if not key_dir.is_dir():
        return {}
    found = {}
    for path in key_dir.iterdir():
        match = _KEY_FILE.fullmatch(path.name)
        if match and int(match[1]) <= MAX_KEY_ID:
            found[int(match[1])] = path
    return found


def _read_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} is not an Ed25519 private key")
    return key


def _write_new_key(key_dir: Path, key_id: int) -> None:
    if not key_dir.is_dir():
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_dir.chmod(0o700)  # mkdir's mode is cut by the umask
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # mkstemp creates the file with mode 0600; link() then publishes it under its final
    # name in one step and refuses to overwrite, so a concurrent process never reads
    # half a key nor replaces a key that has already signed cards.
    handle, temporary = tempfile.mkstemp(dir=key_dir, prefix=".new-key-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, key_dir / f"{key_id}.pem")
    finally:
        os.unlink(temporary)


def load_keyring(key_dir: str | Path, environ: Mapping[str, str]) -> KeyRing:
    """Load signing keys from the environment, else from key_dir (made on first run)."""
    configured = environ.get(KEYS_ENV_VAR, "").strip()
    if configured:
        return KeyRing(_parse_env_keys(configured))
    key_dir = Path(key_dir)
    if not _key_files(key_dir):
        # Another process may make the first key at the same moment: then use that one.
        with contextlib.suppress(FileExistsError):
            _write_new_key(key_dir, FIRST_KEY_ID)
    return KeyRing({key_id: _read_key(path) for key_id, path in _key_files(key_dir).items()})


def _payload_starts_with_space(key_id: int) -> bool:
    return b45encode(bytes([PAYLOAD_VERSION, key_id]))[0] == " "


def rotate_key(key_dir: str | Path) -> int:
    """Write a new signing key with the next free key id and return that id."""
    key_dir = Path(key_dir)
    key_id = max(_key_files(key_dir), default=FIRST_KEY_ID - 1) + 1
    # Skip ids whose payloads would begin with a space: too many inputs trim it away.
    while key_id <= MAX_KEY_ID and _payload_starts_with_space(key_id):
        key_id += 1
    if key_id > MAX_KEY_ID:
        raise ValueError(f"no key id left: key ids end at {MAX_KEY_ID}")
    _write_new_key(key_dir, key_id)
    return key_id
