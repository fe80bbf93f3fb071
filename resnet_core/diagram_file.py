"""Every diagram the app draws, laid out once by Graphviz and shipped as SVG.

``st.graphviz_chart`` lays a diagram out in the visitor's browser (Graphviz compiled to
WebAssembly), chart by chart, on every switch of variant: that made the Architecture page's slow
switches (issue 18, item 6; measured in ``bench/RESULTS.md``, "Architecture: switching variants").
The diagrams depend only on the registered variants, so they are laid out here, ahead of time, by the
``dot`` program (``python -m resnet_core.diagram_file``; Graphviz is a developer's tool, the app
does not need it) and shipped in ``reference/diagrams.json``.

The file maps the SHA-256 of each DOT source (:mod:`resnet_core.diagrams`) to its SVG, so a
diagram whose source changed, or one of a variant registered later, is simply not found and is
drawn in the browser as before: a shipped picture can never be out of date.
``tests/test_diagram_file.py`` fails when a diagram the app draws is missing from the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from resnet_core.anatomy_records import NetworkAnatomy
from resnet_core.diagrams import FONT_SIZES, block_dot, network_dot, stage_dot
from resnet_core.settings import PACKAGE_DIR

__all__ = ["DIAGRAM_FILE", "GraphvizMissingError", "dot_key", "every_dot", "registered_dots", "render_svg",
           "shipped_svg", "write_diagrams"]

DIAGRAM_FILE = PACKAGE_DIR / "reference" / "diagrams.json"

# What ``dot -Tsvg`` writes before the <svg> element (XML declaration, DOCTYPE, the Graphviz
# version) and its comments (each node's name again): nothing a browser needs, and the version
# would make every regeneration a diff.
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
# Graphviz sizes the drawing in points; the browser's Graphviz (d3-graphviz, which the app used to
# draw with) shows one point as one pixel, and so do these: 11-point text is 11 px, as designed.
_SIZE_IN_POINTS = re.compile(r'\A<svg width="([\d.]+)pt" height="([\d.]+)pt"')


class GraphvizMissingError(RuntimeError):
    """The ``dot`` program is not installed (``apt-get install graphviz``)."""


def dot_key(dot: str) -> str:
    """The file's key for a DOT source: its SHA-256, hex."""
    return hashlib.sha256(dot.encode()).hexdigest()


def every_dot(anatomy: NetworkAnatomy, font_size: int) -> Iterator[str]:
    """Every diagram of one variant the app draws: its blocks, the whole network and each stage."""
    from resnet_core.anatomy import representative_blocks  # torch, which the writer needs anyway

    for block in representative_blocks(anatomy):
        yield block_dot(block, font_size=font_size)
    yield network_dot(anatomy, font_size=font_size)
    for stage in anatomy.stages:
        yield stage_dot(stage, font_size=font_size)


def registered_dots() -> Iterator[str]:
    """:func:`every_dot` of every registered variant and its plain twin, at every font size the app uses.

    Variants share most blocks, so a source can come more than once.
    """
    from resnet_core.architecture_file import shipped_anatomy
    from resnet_core.models import list_models

    for name in list_models():
        for residual in (True, False):
            anatomy = shipped_anatomy(name, residual)
            for font_size in FONT_SIZES:
                yield from every_dot(anatomy, font_size)


def render_svg(dot: str, *, timeout_s: float = 60.0) -> str:
    """Lay ``dot`` out with the ``dot`` program: the ``<svg>`` element, without prologue.

    Raises :class:`GraphvizMissingError` where Graphviz is not installed, and
    ``subprocess.CalledProcessError`` (with dot's message) for a source it rejects.
    """
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissingError(
            "the dot program is not installed: apt-get install graphviz (or brew install graphviz)"
        )
    done = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=timeout_s,
                          check=True)
    svg = _COMMENT.sub("", _PROLOGUE.sub("", done.stdout, count=1))
    return _SIZE_IN_POINTS.sub(r'<svg width="\1" height="\2"', svg, count=1)


def write_diagrams(path: str | Path = DIAGRAM_FILE) -> Path:
    """Lay out every registered variant's diagrams at every font size and write the file :func:`shipped_svg` reads."""
    sources = {dot_key(dot): dot for dot in registered_dots()}  # each shared block laid out once
    path = Path(path)
    # One line per diagram, sorted: a newly registered variant's diff adds lines and changes none.
    lines = [f" {json.dumps(key)}: {json.dumps(render_svg(sources[key]))}" for key in sorted(sources)]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    _shipped.cache_clear()
    return path


@lru_cache(maxsize=4)
def _shipped(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # every diagram is drawn in the browser instead


def shipped_svg(dot: str, *, path: str | Path = DIAGRAM_FILE) -> str | None:
    """The shipped SVG of exactly this DOT source, or ``None`` where the file has none."""
    return _shipped(Path(path)).get(dot_key(dot))


if __name__ == "__main__":
    print(f"wrote {write_diagrams()}")
