"""resnet_core: ResNet models, summaries, CIFAR-10 training, classification and Grad-CAM.

Pure PyTorch; the Streamlit app in this repository is one client of it. The package itself
imports nothing heavy: ``create_model`` and friends load ``resnet_core.models`` (and torch) on
first use, so the app's home page, the settings and ``resnet_core.jobs.RUNS`` work without torch.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# OpenMP threads that spin while waiting make every torch process 10x slower or worse as soon as
# more processes than cores compete (measured on the 2-core dev machine under load: a race step
# went from 1.6 s to over 20 s). Shared CPUs are where this package runs (Community Cloud, a talk
# laptop running the app and its tests), so sleep instead of spinning unless the user chose.
# It must be set before torch loads its OpenMP runtime, hence here, before any import of torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from resnet_core.models import create_model, get_spec, list_models

__all__ = ["create_model", "get_spec", "list_models"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:  # PEP 562: resolve the model API lazily
    if name in __all__:
        return getattr(importlib.import_module("resnet_core.models"), name)
    raise AttributeError(f"module 'resnet_core' has no attribute {name!r}")
