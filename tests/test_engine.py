"""The training engine's pieces, on crafted inputs: the divergence rule, schedules, batches, evaluation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from resnet_core.data import load_splits, make_synthetic
from resnet_core.engine.batches import Batches
from resnet_core.engine.divergence import EXPLODE_FACTOR, DivergenceWatch
from resnet_core.engine.evaluate import eval_totals
from resnet_core.engine.layers import weighted_layers
from resnet_core.engine.schedule import lr_at_progress, step_decay
from resnet_core.engine.step import apply_update, backward, grad_norms
from resnet_core.models import create_model
from resnet_core.optim import SGD


def feed(watch: DivergenceWatch, losses: list[float]) -> list[bool]:
    return [bool(watch.update(v, step)) for step, v in enumerate(losses, start=1)]


def test_a_finite_blow_up_diverges_only_after_patience_steps_in_a_row() -> None:
    watch = DivergenceWatch(patience=3)
    high = 2.3 * EXPLODE_FACTOR + 1
    # Two high steps, one back to normal (the streak resets), then three in a row.
    assert feed(watch, [2.3, high, high, 2.0, high, high, high]) == [False] * 6 + [True]
    assert int(watch.first_bad) == 7 and float(watch.bad_loss) == pytest.approx(high)
    assert "stayed above 5x its starting value (2.30) for 3 steps" in watch.what()


def test_a_non_finite_loss_diverges_at_once_and_the_first_bad_step_stays() -> None:
    watch = DivergenceWatch(patience=20)
    assert feed(watch, [2.3, 2.2, math.nan, 2.1]) == [False, False, True, False]
    assert bool(watch.tripped) and int(watch.first_bad) == 3 and watch.what() == "became nan"
    inf = DivergenceWatch()
    assert feed(inf, [2.3, math.inf]) == [False, True] and inf.what() == "became inf"


def test_a_loss_exactly_at_the_factor_is_not_blown_up() -> None:
    watch = DivergenceWatch(patience=1)
    assert feed(watch, [2.0, 2.0 * EXPLODE_FACTOR, 2.0 * EXPLODE_FACTOR + 1e-3]) == [False, False, True]


def test_schedules() -> None:
    assert [lr_at_progress("onecycle", 1.0, 0.25, p) for p in (0, 0.125, 0.25, 0.625, 1)] == pytest.approx(
        [0, 0.5, 1, 0.5, 0]
    )
    assert lr_at_progress("cosine", 1.0, 0.0, 0.5) == pytest.approx(0.5)
    assert lr_at_progress("constant", 0.3, 0.2, 0.0) == 0.3
    assert [step_decay(0.1, s, 100, (0.5, 0.75)) for s in (0, 49, 50, 74, 75)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001]
    )


def test_batches_cover_each_epoch_without_replacement_and_drop_the_ragged_end() -> None:
    data = make_synthetic(100, split="train", seed=0)
    batches = Batches(data.images, data.labels, 32, order=torch.Generator().manual_seed(0),
                      augmentation=torch.Generator().manual_seed(1))  # fmt: skip
    epoch = batches.epoch()
    assert batches.steps_per_epoch == 3 and [len(i) for i in epoch] == [32, 32, 32]
    assert len(set(torch.cat(epoch).tolist())) == 96  # no image twice in an epoch
    x, y = batches.batch(epoch[0])
    assert x.shape == (32, 3, 32, 32) and x.dtype == torch.float32 and torch.equal(y, data.labels[epoch[0]])
    # Two processes draw the same permutation and take disjoint halves of it.
    halves = [
        Batches(data.images, data.labels, 10, order=torch.Generator().manual_seed(0),
                augmentation=torch.Generator().manual_seed(1), rank=r, world=2).epoch()
        for r in (0, 1)
    ]  # fmt: skip
    a, b = (set(torch.cat(h).tolist()) for h in halves)
    assert len(a) == len(b) == 50 and not a & b


def test_one_step_and_its_gradient_norms() -> None:
    torch.manual_seed(0)
    net = create_model("resnet20")
    data = make_synthetic(16, split="train", seed=0)
    batches = Batches(data.images, data.labels, 16, order=torch.Generator().manual_seed(0),
                      augmentation=torch.Generator().manual_seed(1))  # fmt: skip
    x, y = batches.batch(batches.epoch()[0])
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    layers = weighted_layers(net)
    loss, logits = backward(net, x, y, opt, device=torch.device("cpu"))
    assert logits.shape == (16, 10) and not loss.requires_grad
    norms = grad_norms(layers)
    assert norms == pytest.approx([float(m.weight.grad.norm()) for _, m in layers]) and all(n > 0 for n in norms)
    before = layers[0][1].weight.detach().clone()
    apply_update(opt)
    assert not torch.equal(before, layers[0][1].weight)


def test_evaluation_counts_and_restores_the_mode() -> None:
    train, test = load_splits("synthetic", train_subset=20, test_subset=30)
    assert (len(train), len(test)) == (20, 30)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)).train()
    totals = eval_totals(net, test.images, test.labels, device=torch.device("cpu"), batch_size=7)
    assert totals is not None and totals[2] == 30 and 0 <= totals[1] <= 30 and net.training
    assert eval_totals(net, test.images, test.labels, device=torch.device("cpu"), should_stop=lambda: True) is None


# --- how a finished run ended (issue 19, item 4) ------------------------------------------------

from resnet_core.engine.batchnorm import recalibrate_batchnorm  # noqa: E402
from resnet_core.engine.outcome import judge_end  # noqa: E402


@pytest.mark.parametrize(
    "test_loss, test_acc, train_loss, outcome, words",
    [
        (math.nan, 0.1, 2.3, "diverged", "test loss is nan"),
        (math.inf, 0.1, 2.3, "diverged", "test loss is inf"),
        (1.2e4, 0.1, 8.0, "diverged", "over 100x the training loss"),  # lr 10, a 20 s run
        (1.2e4, 0.1, None, "learned nothing", "is chance (10%)"),  # no training loss to compare with
        (2.31, 0.105, 2.30, "learned nothing", "test accuracy 10.5% is chance"),
        (1.1, 0.62, 0.9, "learned", ""),
        (150.0, 0.6, 2.0, "learned", ""),  # 75x: bad, but not orders of magnitude
    ],
)
def test_the_end_of_a_run_is_judged_on_its_numbers(
    test_loss: float, test_acc: float, train_loss: float | None, outcome: str, words: str
) -> None:
    got, text = judge_end(test_loss, test_acc, train_loss, 10, lr=10.0)
    assert got == outcome and words in text
    if outcome != "learned":
        assert text.startswith(outcome) and "lower the learning rate (now 10)" in text


def test_chance_after_a_blow_up_is_divergence_and_without_one_it_learned_nothing() -> None:
    # lr 10 on CIFAR-10: the loss spikes past 5x its first value for a few steps (too few to trip
    # the watch), then the network answers uniformly: test loss ~ln 10, accuracy at chance.
    got, text = judge_end(2.315, 0.104, 2.33, 10, lr=10.0, blew_up=11.4)
    assert got == "diverged" and "blew up to 11.4x" in text and "lower the learning rate (now 10)" in text
    assert judge_end(2.315, 0.104, 2.33, 10, lr=10.0, blew_up=1.2)[0] == "learned nothing"
    assert judge_end(1.1, 0.62, 0.9, 10, lr=10.0, blew_up=11.4)[0] == "learned"  # it recovered


def test_the_watch_remembers_a_blow_up_too_short_to_trip_it() -> None:
    watch = DivergenceWatch(patience=20)
    for step, loss in enumerate([2.6, 2.6, 15.7, 29.7, 6.5, 2.6, 2.4]):
        watch.update(loss, step)
    assert not bool(watch.tripped)
    assert float(watch.peak_ratio()) == pytest.approx(29.7 / 2.6)
    calm = DivergenceWatch()
    for step, loss in enumerate([2.6, 2.5, float("nan")]):
        calm.update(loss, step)
    assert float(calm.peak_ratio()) == pytest.approx(1.0)  # a NaN is divergence, not a peak


def test_recalibrated_batchnorm_statistics_are_the_images_statistics() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4)).eval()
    images = make_synthetic(64, split="train", seed=0).images
    recalibrate_batchnorm(net, images, batch_size=16, max_batches=4)
    from resnet_core.augment import normalize
    from resnet_core.cifar10 import MEAN, STD

    with torch.no_grad():
        out = net[0](normalize(images, MEAN, STD))
    bn = net[1]
    assert torch.allclose(bn.running_mean, out.mean((0, 2, 3)), atol=1e-5)
    assert not net.training and bn.momentum == 0.1  # mode and momentum restored
