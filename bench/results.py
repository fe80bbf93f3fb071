"""bench/RESULTS.md, a section per benchmark: replace one section and keep every other as it is."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

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


def machine_text(machine: dict[str, Any]) -> str:
    """``resnet_core.cli.machine.machine_words()`` in words: CPU, cores, SIMD flags and the kernels torch ran.

    Names the oneDNN cap too (``ONEDNN_MAX_CPU_ISA``), so a run held to AVX2 on an AVX-512 CPU says so.
    """
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return (f"{machine['cpu']}, {machine['cores']} cores, SIMD {', '.join(machine['simd']) or 'none'} "
            f"(torch kernels {machine.get('kernels', '?')}{', oneDNN capped at ' + cap if cap else ''})")
