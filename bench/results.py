"""bench/RESULTS.md, a section per benchmark: replace one section and keep every other as it is."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, section: str, results: Path = RESULTS) -> Path:
    """Put ``section`` (which starts with the line ``heading``) in place of ``heading``'s section, or at the end."""
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results.write_text(text.rstrip("\n") + "\n")
    return results
