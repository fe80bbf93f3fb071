"""Home page: the shortcut itself, where to start, and where to go."""

import streamlit as st

from resnet_core.architecture_file import shipped_anatomy
from resnet_core.diagrams import block_dot
from webui.diagram import draw_diagram
from webui.guide import next_link
from webui.pages import PAGES
from webui.presenter import diagram_font_size, presenting
from webui.shell import setup_page
from webui.story import next_page

setup_page("Home", "🏠")
# The race's networks are CIFAR ResNets: their first block is the one the story is about. Read
# from the shipped anatomy, so the home page still loads no torch (issue #10).
BLOCK_OF = "resnet20"

st.title("ResNet, explained by running it")
# The diagrams fill their column, text included: the wider column keeps their text readable.
picture, words = st.columns([3, 2], gap="large")
with picture:
    residual, plain = st.columns(2)
    draw_diagram(block_dot(shipped_anatomy(BLOCK_OF).blocks[0], font_size=diagram_font_size()), where=residual,
                 alt="A residual block: two convolutions, and the shortcut that adds the input back")
    draw_diagram(block_dot(shipped_anatomy(BLOCK_OF, residual=False).blocks[0], font_size=diagram_font_size()),
                 where=plain, alt="The same block without its shortcut: a plain block")
with words:
    st.markdown(
        """
In 2015 He et al. showed that adding a **shortcut** around every pair of layers lets very deep
networks train. Left, a residual block: its layers compute a change F(x), and the orange arrow
carries the input x past them to be added back. Right, the same layers without it (a *plain*
block). Gradients flow back through the shortcut, so a 152-layer network learns better than a
34-layer one instead of worse. This app lets you see that for yourself.
"""
    )
    first = next_page(PAGES[0])
    with st.container(border=True):
        st.page_link(first.path, label=f"Start here: {first.label}", icon=":material/play_arrow:")
        st.caption("Then follow the Next link at the bottom of each page: the shortcut, the race, why it works, "
                   "what the network sees, and teaching it your own things.")

BLURBS = {
    "Architecture": "Every ResNet variant, layer by layer: its blocks drawn, parameters, mult-adds "
                    "(multiply-accumulates, the work per image), shapes.",
    "Train": "Train a ResNet on CIFAR-10 live, and watch a plain network fail where its residual twin learns.",
    "Why it works": "Why the shortcut helps, in seconds: gradient flow, shattered gradients, lesions, the loss landscape.",
    "Classify": "Upload a photo and see the top classes with their probabilities.",
    "Grad-CAM": "See where the network looks, per class, per layer and per method.",
    "Fine-tune": "Teach a pretrained ResNet your own classes from a few pictures, in seconds.",
}
PER_ROW = 3  # six cards in one row cut their titles short
cards = PAGES[1:]
for start in range(0, len(cards), PER_ROW):
    for col, card in zip(st.columns(PER_ROW), cards[start : start + PER_ROW]):
        with col.container(border=True):
            st.page_link(card.path, label=f"**{card.label}**", icon=card.icon)
            st.caption(BLURBS[card.label])

if not presenting():  # developer detail: not for an audience
    st.divider()
    st.markdown(
        """
**How it works.** The models, training loop, Grad-CAM and image handling live in the
`resnet_core` Python package, which you can `pip install` and use without this app
(`python -m resnet_core --help`). The pages only draw widgets and charts around it.
"""
    )

next_link()
