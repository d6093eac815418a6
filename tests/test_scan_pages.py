"""The scanner PWA's pages: the app shell, its manifest, service worker, icons and texts."""
from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from app.rules import REASONS
from app.scan.views import shell_files

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
CATALOGUE = STATIC / "scan" / "i18n.json"
LANGUAGES = ("fi", "sv", "en")
API_ERRORS = ("login_required", "csrf_failed", "venue_not_allowed", "unknown_event",
              "invalid_tickets", "rate_limited", "network", "too_late")
BRAND = (0x5B, 0x2A, 0x86)
FIRST_LOAD_BUDGET = 150 * 1024  # DESIGN §11: JavaScript + CSS compressed, decoder excluded


def texts() -> dict[str, dict[str, str]]:
    """The scanner's JSON catalogue."""
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def fetched(client, path: str) -> bytes:
    """A static file's bytes (the response is closed: it holds the file open)."""
    with client.get(path) as response:
        assert response.status_code == 200, path
        return response.get_data()


# Who may open the scanner


def test_the_scanner_sends_a_visitor_who_is_not_logged_in_to_the_login_page(client, world):
    response = client.get("/scan")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/scan")


@pytest.mark.parametrize("role, status", [("boxoffice", 200), ("coordinator", 200), ("admin", 200),
                                          ("issuer", 403)])
def test_only_scanning_roles_open_the_scanner(client, auth, world, role, status):
    auth.login(world.users[role].username)
    assert client.get("/scan").status_code == status


@pytest.mark.parametrize("path", ["/scan/manifest.webmanifest", "/scan/sw.js"])
def test_the_manifest_and_the_worker_need_no_login_and_hold_no_data(client, world, path):
    assert client.get(path).status_code == 200


# The app shell


@pytest.fixture
def page(client, auth, world) -> str:
    """The scanner page as the box office sees it."""
    auth.login(world.users["boxoffice"].username)
    return client.get("/scan").get_data(as_text=True)


def test_the_page_loads_its_scripts_as_modules_and_has_no_inline_script(page):
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script type="module" src="/static/scan/app.js">']
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page), "inline script"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"


def test_the_page_links_its_manifest_styles_and_csrf_token(page):
    assert '<link rel="manifest" href="/scan/manifest.webmanifest">' in page
    assert 'href="/static/css/scan.css"' in page
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page)
    assert 'data-service-worker="/scan/sw.js"' in page
    assert 'data-wasm="/static/vendor/zxing-wasm/reader/zxing_reader.wasm"' in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_speaks_the_language_the_staff_member_chose(client, auth, world, lang):
    auth.login(world.users["boxoffice"].username)
    client.get(f"/lang/{lang}?next=/scan")
    assert f'<html lang="{lang}">' in client.get("/scan").get_data(as_text=True)


def test_every_text_the_page_and_its_scripts_ask_for_is_in_the_catalogue(page):
    wanted = set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', page))
    for script in (STATIC / "scan").glob("*.js"):
        wanted |= set(re.findall(r'\bt\("([a-z_.]+)"', script.read_text(encoding="utf-8")))
        wanted |= {f"{key}.other" for key in
                   re.findall(r'\btn\("([a-z_.]+)"', script.read_text(encoding="utf-8"))}
    assert wanted, "no text keys found"
    assert wanted <= set(texts()["fi"]), sorted(wanted - set(texts()["fi"]))


# Manifest and icons


def test_the_manifest_installs_the_scanner_at_scan(client):
    response = client.get("/scan/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == "/scan"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#5b2a86"
    assert manifest["name"] and manifest["short_name"]
    sizes = {(icon["sizes"], icon["type"]) for icon in manifest["icons"]}
    assert {("192x192", "image/png"), ("512x512", "image/png")} <= sizes


@pytest.mark.parametrize("accept, name", [("fi", "Kaikukortti – Lipunmyynti"),
                                          ("sv", "Kaikukortet – Biljettförsäljning")])
def test_the_manifest_names_the_app_in_the_browsers_language(client, accept, name):
    manifest = client.get("/scan/manifest.webmanifest",
                          headers={"Accept-Language": accept}).get_json(force=True)
    assert manifest["name"] == name
    assert manifest["lang"] == accept


def test_the_icons_are_square_pngs_on_the_brand_purple_and_not_the_holders(client):
    manifest = client.get("/scan/manifest.webmanifest").get_json(force=True)
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(fetched(client, icon["src"])))
        side = int(icon["sizes"].split("x")[0])
        assert image.format == "PNG" and image.size == (side, side)
        assert image.convert("RGB").getpixel((2, 2)) == BRAND
        holder = (STATIC / "holder" / f"icon-{side}.png").read_bytes()
        assert fetched(client, icon["src"]) != holder


# Service worker


def test_the_service_worker_is_javascript_allowed_to_control_scan(client):
    response = client.get("/scan/sw.js")
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/scan"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_service_worker_keeps_the_whole_shell_including_the_decoder(client):
    worker = client.get("/scan/sw.js").get_data(as_text=True)
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", worker).group(1))
    for name in ("scan/app.js", "scan/i18n.json", "css/scan.css", "css/app.css",
                 "vendor/zxing-wasm/reader/zxing_reader.wasm", "vendor/zxing-wasm/es/reader/index.js"):
        assert f"/static/{name}" in assets
    assert {f"/static/scan/{p.name}" for p in (STATIC / "scan").glob("*.js")} <= set(assets)
    assert '"/scan", "/scan/manifest.webmanifest"' in worker


def test_every_module_the_shell_imports_is_in_the_shell_too():
    shell = set(shell_files(STATIC))
    imports = re.compile(r"""(?:^import[^"';]*?from\s*|\bimport\(\s*)["'](\.{1,2}/[^"']+)["']""", re.M)
    for name in [n for n in shell if n.endswith(".js")]:
        for target in imports.findall((STATIC / name).read_text(encoding="utf-8")):
            resolved = (STATIC / name).parent.joinpath(target).resolve().relative_to(STATIC)
            assert resolved.as_posix() in shell, f"{name} imports {target}, which is not kept offline"


def test_every_file_of_the_shell_is_served(client):
    for name in shell_files(STATIC):
        assert fetched(client, f"/static/{name}")
    with client.get("/static/vendor/zxing-wasm/reader/zxing_reader.wasm") as response:
        assert response.mimetype == "application/wasm"


def test_the_worker_version_changes_with_the_shell(client, app, monkeypatch):
    from app.scan import views

    first = client.get("/scan/sw.js").get_data(as_text=True)
    monkeypatch.setattr(views, "SHELL_FILES", (*views.SHELL_FILES, "holder/icon-192.png"))
    second = client.get("/scan/sw.js").get_data(as_text=True)
    version = re.compile(r'const CACHE = "kaiku-scan-(\w+)"')
    assert version.search(first).group(1) != version.search(second).group(1)


# Texts, decoder and size


def test_the_catalogue_has_the_same_texts_in_finnish_swedish_and_english():
    catalogue = texts()
    assert set(catalogue) == set(LANGUAGES)
    keys = set(catalogue["fi"])
    for lang in LANGUAGES:
        assert set(catalogue[lang]) == keys, lang
        for key, text in catalogue[lang].items():
            assert text.strip(), f"{lang}: {key} is empty"
            placeholders = sorted(re.findall(r"\{\w+\}", text))
            assert placeholders == sorted(re.findall(r"\{\w+\}", catalogue["en"][key])), (lang, key)


def test_the_catalogue_says_every_reason_and_every_api_error():
    fi = texts()["fi"]
    missing = [code for code in REASONS if f"reason.{code}" not in fi]
    missing += [code for code in API_ERRORS if f"error.{code}" not in fi]
    assert not missing


def test_the_finnish_and_swedish_texts_are_translated_not_copied():
    catalogue = texts()
    for lang in ("fi", "sv"):
        same = [key for key, text in catalogue[lang].items()
                if text == catalogue["en"][key] and len(text) > 12]
        assert not same, (lang, same)


def test_the_decoder_is_vendored_with_its_licence_and_version_and_served_by_us():
    vendor = STATIC / "vendor" / "zxing-wasm"
    assert "MIT" in (vendor / "LICENSE").read_text()
    assert "zxing-wasm 3." in (vendor / "VERSION").read_text()
    camera = (STATIC / "scan" / "camera.js").read_text()
    assert "locateFile" in camera and "zxing_reader.wasm" not in camera  # the page says where


def test_the_first_load_stays_within_the_budget_of_scripts_and_styles():
    shell = [name for name in shell_files(STATIC)
             if name.endswith((".js", ".css")) and not name.startswith("vendor/zxing-wasm/")]
    size = sum(len(gzip.compress((STATIC / name).read_bytes())) for name in shell)
    assert size <= FIRST_LOAD_BUDGET
