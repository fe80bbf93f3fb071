"""Draw a Graphviz diagram: its shipped SVG where there is one, laid out in the browser otherwise.

A shipped SVG (``resnet_core.diagram_file``) is a plain picture for the browser, where
``st.graphviz_chart`` would start Graphviz's WebAssembly build for every chart on every switch
of variant. Both are drawn at Graphviz's own size, shrunk to fit a narrower column, and centred
in it, so that the text of two diagrams side by side is the same size.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from resnet_core.diagram_file import shipped_svg

__all__ = ["draw_diagram"]


def draw_diagram(dot: str, *, alt: str, where: DeltaGenerator | None = None) -> None:
    """Draw the DOT source ``dot`` in ``where`` (default: the current container), described by ``alt``."""
    where = st if where is None else where
    svg = shipped_svg(dot)
    if svg is None:  # a variant registered after the file was written, or a changed diagram
        where.graphviz_chart(dot, alt=alt)
    else:
        # A container: st.image alone sits at the left of its column, where the charts are centred.
        where.container(horizontal_alignment="center").image(svg, width="content", alt=alt)
