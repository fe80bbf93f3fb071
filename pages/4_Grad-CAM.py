"""Grad-CAM page."""

import streamlit as st

from ui import setup_page

setup_page("Grad-CAM", "🔥")
st.title("Grad-CAM")
st.info("Coming in the next release.")
