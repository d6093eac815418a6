"""Adding a benchmark's results to bench/README.md (`--record`), the same way for each."""
from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def record(results_end: str, table: str, command: str) -> None:
    """Put the results, the command and the date just above the `results_end` line."""
    text = README.read_text()
    if results_end not in text:
        sys.exit(f"{README} has no line {results_end!r}")
    stamp = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    machine = f"{os.cpu_count()} CPUs, load average {load} at the end"
    entry = f"#### {stamp}\n\n`{command}` ({machine})\n\n{table}\n\n"
    README.write_text(text.replace(results_end, entry + results_end, 1))
