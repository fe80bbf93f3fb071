"""Architecture page."""

import streamlit as st

from ui import setup_page

setup_page("Architecture", "🧱")
st.title("Architecture")
st.info("Coming in the next release.")
