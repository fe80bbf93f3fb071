"""The race: networks trained in lockstep on the same mini-batches, judged at equal steps."""

from __future__ import annotations

import threading

import pytest
import torch

from resnet_core.data import DataError, downsample, make_synthetic
from resnet_core.race import Contender, Race, RaceConfig, RaceEval, RaceStep, train_window

TRAIN = make_synthetic(256, split="train", seed=0)
TEST = make_synthetic(64, split="test", seed=0)


def config(*contenders: Contender, **changes) -> RaceConfig:
    base = dict(contenders=contenders, steps=6, batch_size=32, resolution=16, widths=(4, 8, 16), crop_padding=2,
                device="cpu", data="synthetic", eval_every=3, grad_norm_every=0)
    return RaceConfig(**{**base, **changes})


def race(cfg: RaceConfig, **kwargs) -> tuple[Race, list]:
    seen: list = []
    r = Race(cfg, callback=seen.append, train_data=downsample(TRAIN, cfg.resolution),
             test_data=downsample(TEST, cfg.resolution), **kwargs)
    return r, seen


def test_identical_contenders_see_identical_batches_and_weights() -> None:
    """Two copies of one network stay identical step for step: same seed, same mini-batches."""
    cfg = config(Contender("a", "resnet20", True), Contender("b", "resnet20", True))
    r, seen = race(cfg)
    result = r.run()
    steps = [m for m in seen if isinstance(m, RaceStep)]
    assert [s.step for s in steps] == list(range(1, 7))
    assert all(s.loss[0] == s.loss[1] for s in steps)
    a, b = result.models
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_plain_net_and_its_twin_start_from_the_same_weights() -> None:
    r, _ = race(config(Contender("plain", "resnet20", False), Contender("res", "resnet20", True)))
    r.setup()
    plain, res = (net.state_dict() for net in r.nets)
    assert plain.keys() == res.keys() and all(torch.equal(plain[k], res[k]) for k in plain)
    assert r.nets[0].layer2[0].downsample is None  # the plain twin has no shortcut at all


def test_results_are_judged_at_equal_steps_on_the_last_tenth() -> None:
    cfg = config(Contender("p20", "resnet20", False), Contender("r20", "resnet20", True), steps=20, eval_every=10)
    r, seen = race(cfg)
    result = r.run()
    steps = [m for m in seen if isinstance(m, RaceStep)]
    assert [e.step for e in seen if isinstance(e, RaceEval)] == [0, 10, 20]
    assert [x.steps for x in result.results] == [20, 20]
    for i, res in enumerate(result.results):
        window = steps[-train_window(20):]  # the last 2 of 20 steps
        assert res.train_error == pytest.approx(sum(s.error[i] for s in window) / len(window))
        assert res.test_error == [e for e in seen if isinstance(e, RaceEval)][-1].error[i]
    assert [s.fraction for s in steps][-1] == 1.0
    assert result.models[0].training is False and next(result.models[0].parameters()).device.type == "cpu"


def test_stop_before_the_first_step() -> None:
    stop = threading.Event()
    stop.set()
    r, seen = race(config(Contender("a", "resnet20", True)), stop_event=stop)
    result = r.run()
    assert result.status == "stopped" and result.results[0].steps == 0
    assert result.results[0].train_error is None and result.results[0].status == "stopped"
    assert not [m for m in seen if isinstance(m, RaceStep)]


def test_a_blown_up_network_leaves_the_race_and_the_others_go_on() -> None:
    cfg = config(Contender("hot", "resnet20", True), Contender("cool", "resnet20", False), explode_patience=3)
    r, _ = race(cfg)
    r.setup()
    assert not r._diverged(0, 2.3, 0)  # the first loss sets the scale
    assert not r._diverged(0, 50.0, 1) and not r._diverged(0, 50.0, 2)  # blown up, but only for 2 steps
    assert r._diverged(0, 50.0, 3)  # the third step in a row retires it
    assert r.status == ["diverged", "finished"] and r.alive == [False, True]
    assert "stayed above 5x its starting value (2.30) for 3 steps" in r.messages[0]
    assert "Lower the learning rate" in r.messages[0]
    assert not r._diverged(1, 2.3, 0) and r._diverged(1, float("nan"), 1)  # NaN retires at once
    r.alive = [False, True]  # keep one racing: its losses are still reported, the retired one's NaN
    r.status[1] = "finished"
    r.step(4)
    assert r.steps_done == [0, 5]
    r.close()


def test_the_end_is_judged_on_held_out_numbers_like_a_single_run() -> None:
    """A blow-up too short for the watch is still "diverged"; chance is said in words but stays in the race."""
    cfg = config(Contender("a", "resnet20", True), Contender("b", "resnet20", False), Contender("c", "resnet32", True))
    r, _ = race(cfg)
    r.setup()
    r.step(0)
    r.close()
    final = RaceEval(1, (4.0e4, 2.2, 1.9), (0.9, 0.89, 0.5))
    status, message = r._judge_end(0, final, 2.3, "a: 1 steps")
    assert status == "diverged" and "over 100x the training loss" in message and "lower the learning rate" in message
    status, message = r._judge_end(1, final, 2.3, "b: 1 steps")
    assert status == "finished" and message == "b learned nothing in 1 steps: its test error 89.0% is chance (90%)"
    assert r._judge_end(2, final, 2.0, "c: 1 steps") == ("finished", "c: 1 steps")
    assert r._judge_end(2, RaceEval(1, (2.2, 2.2, float("nan")), (0.5,) * 3), 2.0, "")[0] == "diverged"


@pytest.mark.parametrize("cpus", [1, 2, 3])
def test_networks_on_parallel_workers_train_exactly_as_one_after_another(monkeypatch, cpus: int) -> None:
    """One worker per usable core, each network on one thread: the numbers do not depend on how many."""
    import resnet_core.race as race_module

    def run_with(n: int) -> tuple[Race, list, object]:
        monkeypatch.setattr(race_module, "usable_cpus", lambda: n)
        cfg = config(Contender("p20", "resnet20", False), Contender("r20", "resnet20", True),
                     Contender("p32", "resnet32", False), grad_norm_every=2)
        r, seen = race(cfg)
        return r, seen, r.run()

    threads = torch.get_num_threads()
    one, one_seen, one_result = run_with(1)
    many, many_seen, many_result = run_with(cpus)
    assert one.workers == 1 and many.workers == min(cpus, 3)
    assert many._order[0] == 2  # the deepest network is handed out first
    assert torch.get_num_threads() == threads  # the race gives torch its thread count back
    assert [repr(m) for m in many_seen if not isinstance(m, RaceStep)] == [
        repr(m) for m in one_seen if not isinstance(m, RaceStep)]
    assert [(m.loss, m.error) for m in many_seen if isinstance(m, RaceStep)] == [
        (m.loss, m.error) for m in one_seen if isinstance(m, RaceStep)]
    for a, b in zip(one_result.models, many_result.models):
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="at least one network"):
        config()
    with pytest.raises(ValueError, match="labels must differ"):
        config(Contender("a", "resnet20", True), Contender("a", "resnet56", True))
    with pytest.raises(KeyError, match="unknown model"):
        config(Contender("a", "resnet21", True))
    with pytest.raises(ValueError, match="resolution must be"):
        config(Contender("a", "resnet20", True), resolution=20)


def test_downsample_averages_pixel_blocks() -> None:
    small = downsample(TRAIN, 16)
    assert small.images.shape == (256, 3, 16, 16) and small.images.dtype == torch.uint8
    block = TRAIN.images[0, :, :2, :2].float().mean(dim=(1, 2)).round().to(torch.uint8)
    assert torch.equal(small.images[0, :, 0, 0], block)
    assert torch.equal(small.labels, TRAIN.labels) and "downsampled to 16x16" in small.source
    assert downsample(TRAIN, 32) is TRAIN
    with pytest.raises(DataError, match="must divide 32"):
        downsample(TRAIN, 12)
