"""Home page: what the app teaches and where to go."""

import streamlit as st

from webui.pages import PAGES
from webui.shell import setup_page

setup_page("Home", "🏠")

st.title("ResNet, explained by running it")
st.markdown(
    """
In 2015 He et al. showed that adding a **shortcut** around every pair of layers lets very deep
networks train: gradients flow back through the identity path, so a 152-layer network learns
better than a 34-layer one instead of worse. This app lets you see that for yourself.
"""
)

BLURBS = {
    "Architecture": "Every ResNet variant, layer by layer: parameters, mult-adds, shapes, and the blocks drawn.",
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

st.divider()
st.markdown(
    """
**How it works.** The models, training loop, Grad-CAM and image handling live in the
`resnet_core` Python package, which you can `pip install` and use without this app
(`python -m resnet_core --help`). The pages only draw widgets and charts around it.
"""
)
