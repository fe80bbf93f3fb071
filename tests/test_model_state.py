"""``untouched`` and ``evaluating``: a model leaves the block with its flags and buffers as they were,
and a block that changes nothing writes nothing to it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_core.model_state import evaluating, untouched


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.Flatten())


def versions(model: nn.Module) -> dict[str, int]:
    return {name: b._version for name, b in model.named_buffers()}


def test_untouched_puts_back_flags_and_the_statistics_a_training_pass_changed() -> None:
    model = net().eval()
    model[2].train()  # a mixed model: each submodule gets its own flag back
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with untouched(model) as m:
        assert m is model
        model.train()
        model(torch.randn(8, 3, 5, 5))
        assert not torch.equal(model[1].running_mean, before["1.running_mean"])  # the pass did change them
    assert [m.training for m in model] == [False, False, True, False] and model.training is False
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_untouched_restores_after_an_error_and_lets_it_through() -> None:
    model = net().eval()
    before = model[1].running_var.clone()
    with pytest.raises(RuntimeError, match="boom"), untouched(model):
        model.train()
        model(torch.randn(8, 3, 5, 5))
        raise RuntimeError("boom")
    assert not model.training and torch.equal(model[1].running_var, before)


def test_evaluating_runs_in_eval_mode_and_gives_each_flag_back() -> None:
    model = net().train()
    model[0].eval()
    with evaluating(model):
        assert not any(m.training for m in model.modules())
        out = model(torch.ones(2, 3, 5, 5))
    assert torch.equal(out[0], out[1])  # eval-mode BN and no dropout: equal inputs, equal outputs
    assert [m.training for m in model] == [False, True, True, True] and model.training


class WatchedBatchNorm(nn.BatchNorm2d):
    """Records every write to its train/eval flag."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "training":
            self.__dict__.setdefault("flag_writes", []).append(value)
        super().__setattr__(name, value)


@pytest.mark.parametrize("helper", [evaluating, untouched])
def test_a_model_in_eval_mode_is_not_written_to(helper) -> None:
    """Sessions share cached models in eval mode: no flag is set and no buffer bumps its version."""
    model = net()
    model[1] = WatchedBatchNorm(4)
    model.eval()
    model[1].flag_writes = []
    before = versions(model)
    with torch.inference_mode(), helper(model):
        model(torch.randn(2, 3, 5, 5))
    assert versions(model) == before and model[1].flag_writes == []


@pytest.mark.parametrize("helper", [evaluating, untouched])
def test_a_shape_only_model_on_the_meta_device(helper) -> None:
    """The Architecture page runs models on the meta device: no values, nothing to compare or put back."""
    with torch.device("meta"):
        model = net().train()
    with helper(model):
        model.train()
        assert model(torch.empty(2, 3, 5, 5, device="meta")).shape == (2, 36)
    assert model.training and model[1].running_mean.is_meta
