"""resnet_core: ResNet models, summaries, CIFAR-10 training, classification and Grad-CAM.

Pure PyTorch; the Streamlit app in this repository is one client of it.
"""

from resnet_core.models import create_model, get_spec, list_models

__all__ = ["create_model", "get_spec", "list_models"]
__version__ = "0.1.0"
