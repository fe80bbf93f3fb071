"""Classify page."""

import streamlit as st

from ui import setup_page

setup_page("Classify", "🔎")
st.title("Classify")
st.info("Coming in the next release.")
