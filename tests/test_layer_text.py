"""The paper's words for a layer: Table 1's "3x3, 64" and Figure 3's "3x3 conv, 64, stride 2"."""

from __future__ import annotations

from torch import nn

from resnet_core.layer_text import conv_text, max_pool_text


def test_conv_text_names_kernel_width_and_a_stride_other_than_one() -> None:
    assert conv_text(nn.Conv2d(3, 64, 3, padding=1)) == "3x3, 64"
    assert conv_text(nn.Conv2d(3, 64, 7, stride=2)) == "7x7, 64, stride 2"
    assert conv_text(nn.Conv2d(3, 64, 7, stride=2), noun="conv") == "7x7 conv, 64, stride 2"
    assert conv_text(nn.Conv2d(64, 128, 1, stride=2), stride=False) == "1x1, 128"


def test_max_pool_text_names_the_stride_only_when_it_differs_from_the_window() -> None:
    assert max_pool_text(nn.MaxPool2d(2)) == "2x2 max pool"
    assert max_pool_text(nn.MaxPool2d(3, stride=2, padding=1)) == "3x3 max pool, stride 2"
