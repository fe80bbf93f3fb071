"""Train page."""

import streamlit as st

from ui import setup_page

setup_page("Train", "📈")
st.title("Train")
st.info("Coming in the next release.")
