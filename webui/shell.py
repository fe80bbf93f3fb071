"""What every page draws first: its config, the sidebar (the pages, presenter mode, what this machine
has) and, in presenter mode, the story's Previous/Next buttons.

No torch here: the home page and the sidebar must cost a first visit ~150 MB and a second or
two, not the ~700 MB and ~6 s of loading torch and torchvision (issue #10).
"""

from __future__ import annotations

import streamlit as st

from resnet_core.environment import machine_status
from resnet_core.memory import release_memory_now_and_then
from webui.guide import open_page, story_buttons
from webui.locality import served_locally
from webui.pages import PAGES
from webui.presenter import presenter_css, presenter_toggle, presenting
from webui.state import run_heartbeat

__all__ = ["PHONE_CSS", "setup_page"]

# On a phone a chart's toolbar (Plotly's modebar) spans most of the chart's width and covers the
# labels at its top ("training target 82 %", a title, a legend); its zoom and pan are no use on a
# touch screen, and Streamlit's own full-screen button stays.
PHONE_CSS = """
<style>
@media (max-width: 640px) { .js-plotly-plot .modebar-container { display: none !important; } }
</style>
"""


def setup_page(title: str, icon: str) -> None:
    """Set the page's config and draw the sidebar; ``title`` is the page's label in ``PAGES``."""
    current = open_page(title)
    # Presenter mode gives the page the whole width: the sidebar starts closed (its arrow reopens it).
    st.set_page_config(page_title=f"{title} · ResNet explorer", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if presenting() else "auto")
    release_memory_now_and_then()  # what earlier reruns dropped (a big photo) goes back to the OS
    st.html(PHONE_CSS)
    presenter_css()
    _sidebar()
    run_heartbeat()
    story_buttons(current)


def _sidebar() -> None:
    """Links to every page, presenter mode, then the device, CIFAR-10 and the cached ImageNet weights."""
    status = machine_status()  # a few file checks: cheap, and always current
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.label, icon=p.icon)
        st.divider()
        presenter_toggle()
        if presenting():  # an audience needs no server paths or developer commands
            return
        st.divider()
        st.caption("This machine")
        st.markdown(f"**Device:** {status.device}")
        if status.cifar10_dir is not None and served_locally():
            st.markdown(f"**CIFAR-10:** found at `{status.cifar10_dir}`")
        elif status.cifar10_dir is not None:  # a public server keeps its paths to itself (issue #19)
            st.markdown("**CIFAR-10:** found, on this server")
        else:
            st.markdown("**CIFAR-10:** not found. Synthetic data is used; see the Train page.")
        if status.pretrained_cached:
            st.markdown(f"**ImageNet weights:** {', '.join(status.pretrained_cached)}")
        else:
            st.markdown("**ImageNet weights:** none cached (`python -m resnet_core prefetch`)")
