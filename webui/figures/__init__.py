"""Plotly figures, one module per page (pure Plotly, no Streamlit), all styled by ``webui.style``."""
