"""Cached, shared resources: model summaries, the variant comparison, classifiers, sample pictures.

One copy per server process, shared by every session (``st.cache_data`` / ``st.cache_resource``).
Imports torch: only the pages that need these import this module, never the home page.
"""

from __future__ import annotations

import streamlit as st

from resnet_core.classify import Classifier, load_classifier
from resnet_core.data import DataError
from resnet_core.samples import Sample, all_samples, gallery_samples, photo_samples
from resnet_core.summary import ComparisonRow, ModelSummary, shipped_comparison, summarize

__all__ = ["cached_classifier", "cached_comparison", "cached_samples", "cached_summary"]


# Summaries depend only on the code, so they are cached for the life of the server and shared by
# every session; the results are small frozen dataclasses (a few hundred rows at most).
@st.cache_data(show_spinner="Tracing the model…")
def cached_summary(name: str, residual: bool) -> ModelSummary:
    """``resnet_core.summary.summarize`` at the variant's native input size, cached."""
    return summarize(name, residual=residual)


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
