"""Every user-facing string is translated: Finnish by default, Swedish and English complete."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalogue(lang: str):
    """The committed .po catalogue of one language."""
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def template_ids(path: Path) -> set[str]:
    """The message ids of a .pot file."""
    with open(path, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_the_message_template_is_up_to_date_with_the_source(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", str(CATALOGUES / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
                    "--no-location", "--omit-header", "-o", str(fresh), "."],
                   cwd=ROOT, check=True, capture_output=True)
    missing = template_ids(fresh) - template_ids(CATALOGUES / "messages.pot")
    assert not missing, f"run `make messages` and translate: {sorted(missing, key=str)}"


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_every_message_is_translated_with_the_same_placeholders(lang):
    wanted = template_ids(CATALOGUES / "messages.pot")
    messages = {m.id: m for m in catalogue(lang) if m.id}
    assert wanted <= set(messages), sorted(wanted - set(messages))
    for msgid in wanted:
        message = messages[msgid]
        # A plural message has a tuple of ids and a tuple of translations (one per form).
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        assert all(forms) and not message.fuzzy, f"{lang}: {msgid!r} is not translated"
        wanted_placeholders = {p for i in ids for p in PLACEHOLDER.findall(i)}
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) <= wanted_placeholders, (lang, msgid, form)


@pytest.mark.parametrize("headers, path, text", [
    ({}, "/login", "Kirjaudu sisään"),
    ({"Accept-Language": "sv-FI,sv;q=0.9"}, "/login", "Logga in"),
    ({"Accept-Language": "en-GB"}, "/login", "Log in"),
    ({"Accept-Language": "de-DE"}, "/login", "Kirjaudu sisään"),
])
def test_pages_speak_the_browsers_language_and_finnish_otherwise(client, headers, path, text):
    html = client.get(path, headers=headers).get_data(as_text=True)
    assert f"<h1>{text}</h1>" in html


def test_a_chosen_language_wins_over_the_browsers(client):
    client.get("/lang/sv?next=/login")
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Logga in</h1>" in html

