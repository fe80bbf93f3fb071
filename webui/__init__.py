"""The Streamlit side of the app: everything the pages share (``app.py`` and ``pages/`` use it).

``resnet_core`` never imports this package. The modules the home page and the sidebar use
(``pages``, ``shell``, ``state``, ``style``, ``tables``) import no torch; ``widgets``,
``resources`` and ``figures.*`` are imported only by the pages that need them (issue #10).
"""
