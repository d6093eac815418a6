"""QR codes of card payloads and links, as module matrices and as inline SVG."""
from __future__ import annotations

import qrcode
from markupsafe import Markup, escape

QUIET_ZONE = 4  # modules of white border the QR standard asks for


def qr_matrix(text: str, error: int = qrcode.constants.ERROR_CORRECT_M) -> list[list[bool]]:
    """The QR symbol for text, as rows of dark (True) and light modules, quiet zone included."""
    code = qrcode.QRCode(error_correction=error, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def qr_svg(text: str, label: str, error: int = qrcode.constants.ERROR_CORRECT_M) -> Markup:
    """An inline SVG of the QR symbol that scales to its box and names itself for screen readers."""
    matrix = qr_matrix(text, error)
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return Markup(  # noqa: S704 - numbers and an escaped label only
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="{escape(label)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>')
