"""Code 39 barcodes as bar positions, for drawing as vector rectangles (ISO/IEC 16388)."""
from __future__ import annotations

from collections.abc import Iterator

# Nine elements per character, bar and space alternating from a bar; "w" is wide. Three of
# the nine are wide, hence "3 of 9". "*" is only the start and stop character.
PATTERNS = {
    "0": "nnnwwnwnn", "1": "wnnwnnnnw", "2": "nnwwnnnnw", "3": "wnwwnnnnn",
    "4": "nnnwwnnnw", "5": "wnnwwnnnn", "6": "nnwwwnnnn", "7": "nnnwnnwnw",
    "8": "wnnwnnwnn", "9": "nnwwnnwnn", "A": "wnnnnwnnw", "B": "nnwnnwnnw",
    "C": "wnwnnwnnn", "D": "nnnnwwnnw", "E": "wnnnwwnnn", "F": "nnwnwwnnn",
    "G": "nnnnnwwnw", "H": "wnnnnwwnn", "I": "nnwnnwwnn", "J": "nnnnwwwnn",
    "K": "wnnnnnnww", "L": "nnwnnnnww", "M": "wnwnnnnwn", "N": "nnnnwnnww",
    "O": "wnnnwnnwn", "P": "nnwnwnnwn", "Q": "nnnnnnwww", "R": "wnnnnnwwn",
    "S": "nnwnnnwwn", "T": "nnnnwnwwn", "U": "wwnnnnnnw", "V": "nwwnnnnnw",
    "W": "wwwnnnnnn", "X": "nwnnwnnnw", "Y": "wwnnwnnnn", "Z": "nwwnwnnnn",
    "-": "nwnnnnwnw", ".": "wwnnnnwnn", " ": "nwwnnnwnn", "$": "nwnwnwnnn",
    "/": "nwnwnnnwn", "+": "nwnnnwnwn", "%": "nnnwnwnwn", "*": "nwnnwnwnn",
}
DATA_CHARACTERS = "".join(symbol for symbol in PATTERNS if symbol != "*")
QUIET_ZONE = 10  # narrow widths of white each side, the standard's minimum


def element_widths(text: str, wide: float = 3.0) -> list[float]:
    """Widths in narrow units of the bars and spaces of `*text*`, starting with a bar."""
    if not text or any(symbol not in DATA_CHARACTERS for symbol in text):
        raise ValueError("Code 39 text is one or more of " + repr(DATA_CHARACTERS))
    if not 2.0 <= wide <= 3.0:
        raise ValueError("the wide:narrow ratio of Code 39 is 2.0 to 3.0")
    widths: list[float] = []
    for symbol in f"*{text}*":
        if widths:
            widths.append(1.0)  # the narrow gap between characters
        widths += [wide if element == "w" else 1.0 for element in PATTERNS[symbol]]
    return widths


def bars(text: str, wide: float = 3.0) -> Iterator[tuple[float, float]]:
    """Yield (offset, width) in narrow units of each dark bar of `*text*`."""
    offset = 0.0
    for index, width in enumerate(element_widths(text, wide)):
        if index % 2 == 0:
            yield offset, width
        offset += width


def symbol_width(text: str, wide: float = 3.0) -> float:
    """Width in narrow units of the bars of `*text*`, quiet zones not included."""
    return sum(element_widths(text, wide))
