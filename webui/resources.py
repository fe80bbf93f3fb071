"""Cached, shared resources: model summaries, the variant comparison, classifiers, sample pictures.

One copy per server process, shared by every session (``st.cache_data`` / ``st.cache_resource``).
Imports torch: only the pages that need these import this module, never the home page.
"""

from __future__ import annotations

import streamlit as st

from resnet_core.anatomy import NetworkAnatomy
from resnet_core.architecture_file import shipped_view
from resnet_core.classify import Classifier, load_classifier
from resnet_core.data import DataError
from resnet_core.samples import Sample, all_samples, gallery_samples, photo_samples
from resnet_core.summary import ComparisonRow, ModelSummary, shipped_comparison

__all__ = ["cached_classifier", "cached_comparison", "cached_samples", "cached_view"]


# Summaries and anatomies depend only on the code: shipped precomputed (resnet_core/reference/
# architecture.json), so switching variants costs a dict lookup, not a trace. Shared read-only by
# every session (frozen dataclasses); no spinner: it would cover the caption for a few milliseconds.
@st.cache_resource(show_spinner=False)
def cached_view(name: str, residual: bool) -> tuple[ModelSummary, NetworkAnatomy]:
    """A variant's summary (``resnet_core.summary.summarize``) and anatomy, at its native input size."""
    return shipped_view(name, residual)


@st.cache_data(show_spinner="Measuring every variant…")
def cached_comparison() -> tuple[ComparisonRow, ...]:
    """Every registered variant's numbers: shipped with the package, measured only if missing."""
    return shipped_comparison()


# The core never mutates these models (inference_mode, eval mode, hooks removed), so sharing is
# safe. Two entries bound the memory on Streamlit Community Cloud (ResNet-152 alone is ~240 MB).
@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def cached_classifier(key: str) -> Classifier:
    """The shipped or an already-downloaded ImageNet model (raises WeightsUnavailableError)."""
    return load_classifier(key)


@st.cache_resource(show_spinner="Reading the sample pictures…")
def cached_samples() -> list[Sample]:
    """The built-in gallery (its default first), your sample photos, then CIFAR-10 test images."""
    try:
        return all_samples()
    except DataError:  # a damaged CIFAR-10 copy: the Train page says what is wrong with it
        return gallery_samples() + photo_samples()
