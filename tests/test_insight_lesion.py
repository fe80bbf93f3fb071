"""Lesion study: a block whose branch outputs zero loses nothing when deleted; deletions are what they say."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnet_core.insight.lesion import (
    accuracy_with_deleted,
    can_delete,
    deletable_blocks,
    forward_with_deleted,
    lesion_study,
    multi_lesion,
)
from resnet_core.insight.nets import QUICK, InsightError, build_net
from resnet_core.insight.probe import eval_split, make_probe
from resnet_core.insight.runs import lesion_counts
from resnet_core.insight.trained import load_race_net
from resnet_core.models import create_model


@pytest.fixture(scope="module")
def probe():
    return make_probe(eval_split(synthetic=True, size=400), 200, input_size=QUICK.resolution, seed=0)


def _zero_branch(block: torch.nn.Module) -> None:
    """Make the residual branch output zero: its last BN's scale and shift are zero."""
    with torch.no_grad():
        block.bn2.weight.zero_()
        block.bn2.bias.zero_()


@pytest.mark.parametrize("name", ["layer1.1", "layer2.0"])  # an identity shortcut, a zero-padding one
def test_deleting_a_residual_block_whose_branch_is_zero_changes_nothing(probe, name: str) -> None:
    net = build_net(20, True, scale=QUICK, seed=0).eval()
    _zero_branch(net.get_submodule(name))
    with torch.no_grad():
        assert torch.equal(forward_with_deleted(net, probe.images, [name]), net(probe.images))
    study = lesion_study(net, probe.images, probe.labels, chunk=64)
    acc = {b.name: b.acc for b in study.blocks}
    assert acc[name] == study.baseline_acc
    # A block that does something does change the predictions when deleted.
    assert any(a != study.baseline_acc for n, a in acc.items() if n != name)


def test_a_deleted_plain_block_is_the_identity_and_reshaping_ones_stay(probe) -> None:
    net = build_net(20, False, scale=QUICK, seed=0).eval()
    blocks = {f"layer{s}.{j}": net.get_submodule(f"layer{s}.{j}") for s in (1, 2, 3) for j in range(3)}
    with torch.no_grad():
        h = net.relu(net.bn1(net.conv1(probe.images)))
        for name, block in blocks.items():
            h = h if name == "layer1.2" else block(h)
        expected = net.fc(torch.flatten(net.avgpool(h), 1))
        assert torch.allclose(forward_with_deleted(net, probe.images, ["layer1.2"]), expected, atol=1e-6)
    study = lesion_study(net, probe.images, probe.labels)
    missing = [b.name for b in study.blocks if b.acc is None]
    assert missing == ["layer2.0", "layer3.0"]  # where a stage halves the size and doubles the width
    assert all("changes the shape" in b.note for b in study.blocks if b.acc is None)
    assert not can_delete(blocks["layer2.0"]) and can_delete(blocks["layer2.1"])
    with pytest.raises(InsightError, match="layer2.0"):
        accuracy_with_deleted(net, probe.images, probe.labels, ["layer2.0"])


def test_single_lesions_agree_with_deleting_one_block_outright(probe) -> None:
    """The shared-prefix shortcut in lesion_study gives the same numbers as a full pass per block."""
    net = build_net(20, True, scale=QUICK, seed=1).eval()
    study = lesion_study(net, probe.images, probe.labels, chunk=64)
    for block in study.blocks[::4]:
        assert block.acc == accuracy_with_deleted(net, probe.images, probe.labels, [block.name])
    assert study.baseline_acc == accuracy_with_deleted(net, probe.images, probe.labels, [])
    with torch.no_grad():
        assert study.baseline_acc == int((net(probe.images).argmax(1) == probe.labels).sum()) / 200


def test_multi_lesion_counts_and_draws(probe) -> None:
    net = build_net(20, True, scale=QUICK, seed=0).eval()
    study = lesion_study(net, probe.images, probe.labels)
    names = deletable_blocks(study)
    result = multi_lesion(net, probe.images, probe.labels, names, [0, 2, len(names)], trials=3)
    assert [m.count for m in result] == [0, 2, 9]
    assert result[0].accs == (study.baseline_acc,)  # deleting nothing is the intact net, drawn once
    assert len(result[1].accs) == 3 and len(result[2].accs) == 1
    with pytest.raises(InsightError):
        multi_lesion(net, probe.images, probe.labels, names, [10])
    assert lesion_counts(27) == [0, 1, 2, 4, 8, 12, 16, 20, 24, 27]
    assert lesion_counts(1) == [0, 1]


def test_the_model_is_not_modified(probe) -> None:
    net = build_net(20, True, scale=QUICK, seed=0).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    lesion_study(net, probe.images, probe.labels)
    accuracy_with_deleted(net, probe.images, probe.labels, ["layer1.0", "layer3.2"])
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_resnet9_is_refused_with_a_reason(probe) -> None:
    with pytest.raises(InsightError, match="ResNet-9"):
        lesion_study(create_model("resnet9_w16"), probe.images, probe.labels)


def test_trained_pair(race_nets: Path, probe) -> None:
    for label, n_blocks in (("plain56", 27), ("resnet56", 27)):
        ckpt = load_race_net(label, race_nets)
        study = lesion_study(ckpt.model, probe.images[:50], probe.labels[:50])
        assert len(study.blocks) == n_blocks and study.images == 50
        assert (len(deletable_blocks(study)) == 27) == ckpt.residual
