"""The archive of finished runs: round trips, a restarted server, bounds, hostile ids, corrupt records.

Runs are real (tiny) trainings on synthetic shapes, trained once per process (tests/finished_runs.py);
clocks are injected, folders are pytest's temporary ones, nothing sleeps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from finished_runs import finished_race, finished_training
from resnet_core.jobs import RaceJob, RaceSnapshot, Runs, TrainingJob, TrainingSnapshot, new_run_id
from resnet_core.jobs.archive import Archive
from resnet_core.jobs.plaindata import from_plain, to_plain
from resnet_core.settings import RUNS_DAYS_ENV, RUNS_DIR_ENV, SettingError, runs_days, runs_dir, runs_keep
from resnet_core.train import TrainConfig

DAY = 86_400.0


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- round trips -----------------------------------------------------------------------------


def test_a_finished_race_round_trips_curves_verdict_and_weights(tmp_path: Path) -> None:
    job, run_id = finished_race(), new_run_id()
    archive = Archive(tmp_path)
    assert archive.save(run_id, job)
    back = archive.load(run_id)
    assert isinstance(back, RaceJob)
    before, after = job.snapshot(), back.snapshot()
    assert isinstance(after, RaceSnapshot)
    assert after.job_id == before.job_id and after.state == "finished" and after.message == before.message
    assert after.steps == before.steps and [s.step for s in after.steps] == [1, 2, 3, 4, 5, 6]
    assert after.evals == before.evals and after.grads == before.grads
    assert after.verdict == before.verdict and after.verdict is not None
    assert (after.experiment, after.scale, after.config) == (before.experiment, before.scale, before.config)
    assert after.result.results == before.result.results and after.result.wall_s == before.result.wall_s
    assert after.elapsed_s == pytest.approx(before.elapsed_s) and after.done and after.eta_s == 0.0
    assert len(after.result.models) == 3
    assert all(same_weights(a, b) for a, b in zip(before.result.models, after.result.models))
    assert not any(m.training for m in after.result.models)
    assert after.grad_flow(1) == before.grad_flow(1)


def test_a_finished_training_round_trips_curves_numbers_and_the_model(tmp_path: Path) -> None:
    job, run_id = finished_training(), new_run_id()
    archive = Archive(tmp_path)
    assert archive.save(run_id, job)
    record, weights = sorted(files(tmp_path), key=lambda n: not n.endswith(".json"))
    assert record == f"{run_id}.json" and weights.startswith(run_id) and weights.endswith(".pt")
    back = archive.load(run_id)
    assert isinstance(back, TrainingJob)
    before, after = job.snapshot(), back.snapshot()
    assert isinstance(after, TrainingSnapshot)
    assert (after.job_id, after.label, after.config, after.state) == (before.job_id, before.label, before.config,
                                                                      "finished")
    assert after.steps == before.steps and after.epochs == before.epochs and after.grad_norms == before.grad_norms
    numbers = ("status", "message", "epochs_completed", "train_seconds", "images_per_second", "test_acc",
               "test_loss", "device", "outcome", "precision", "data", "classes")
    assert {n: getattr(after.result, n) for n in numbers} == {n: getattr(before.result, n) for n in numbers}
    assert same_weights(before.result.model, after.result.model) and not after.result.model.training
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(before.result.model(x), after.result.model(x), atol=1e-5)


def test_a_restored_run_is_read_only(tmp_path: Path) -> None:
    archive, run_id = Archive(tmp_path), new_run_id()
    archive.save(run_id, finished_training())
    back = archive.load(run_id)
    assert not back.is_active and back.join(0) and back.ended_at is not None
    with pytest.raises(RuntimeError, match="already started"):
        back.start()


def test_plain_data_checks_every_value_against_its_hint() -> None:
    config = TrainConfig(data="synthetic", epochs=2.0)
    assert from_plain(TrainConfig, json.loads(json.dumps(to_plain(config)))) == config
    with pytest.raises(ValueError, match="optimizer"):
        from_plain(TrainConfig, {**to_plain(config), "optimizer": "rmsprop"})  # not one of the Literal
    with pytest.raises(ValueError, match="batch_size"):
        from_plain(TrainConfig, {**to_plain(config), "batch_size": "256"})
    with pytest.raises(TypeError):
        to_plain(torch.zeros(1))


# --- what is archived, and by whom ------------------------------------------------------------


def test_a_restarted_server_finds_finished_runs_by_id(tmp_path: Path) -> None:
    clock = Clock()
    race_id, training_id = new_run_id(), new_run_id()
    first = Runs(reap_every=None, clock=clock, keep_s=60, archive=Archive(tmp_path))
    first.start(race_id, finished_race)
    first.start(training_id, finished_training)
    first.sweep()  # the end-of-run hook: the sweep writes every run that ended
    assert sorted(p for p in files(tmp_path) if p.endswith(".json")) == sorted([f"{race_id}.json",
                                                                                f"{training_id}.json"])

    restarted = Runs(reap_every=None, clock=clock, keep_s=60, archive=Archive(tmp_path))
    race, training = restarted.get(race_id), restarted.get(training_id)
    assert isinstance(race, RaceJob) and race.snapshot().steps == finished_race().snapshot().steps
    assert isinstance(training, TrainingJob) and training.snapshot().epochs == finished_training().snapshot().epochs
    assert restarted.get(race_id) is race  # kept in memory: the next look reads no file
    assert restarted.get(new_run_id()) is None
    assert restarted.running_count() == 0 and restarted.availability().free


def test_a_run_expired_from_memory_comes_back_from_the_archive(tmp_path: Path) -> None:
    clock = Clock()
    runs, run_id = Runs(reap_every=None, clock=clock, keep_s=60, archive=Archive(tmp_path)), new_run_id()
    runs.start(run_id, finished_training)
    clock.now += 61
    assert runs.sweep() == [run_id]  # archived first, then dropped from memory
    back = runs.get(run_id)
    assert isinstance(back, TrainingJob) and back is not finished_training()
    assert back.snapshot().result.test_acc == finished_training().snapshot().result.test_acc


def test_failed_runs_and_other_jobs_are_not_archived(tmp_path: Path) -> None:
    def broken(config: TrainConfig, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash")

    failed = TrainingJob(TrainConfig(data="synthetic"), trainer_factory=broken).start()
    assert failed.join(10) and failed.state == "failed"
    archive = Archive(tmp_path)
    assert not archive.save(new_run_id(), failed)

    class Other:  # a fine-tune, say: ended with a result, but not a race or a training
        def snapshot(self) -> Any:
            return SimpleNamespace(state="finished", result=finished_training().snapshot().result)

    assert not archive.save(new_run_id(), Other())
    assert not tmp_path.exists() or files(tmp_path) == []


def test_keep_zero_writes_nothing(tmp_path: Path) -> None:
    assert not Archive(tmp_path, keep=0).save(new_run_id(), finished_training())
    assert not tmp_path.exists() or files(tmp_path) == []


# --- bounds ----------------------------------------------------------------------------------


def test_at_most_keep_runs_the_oldest_removed_first(tmp_path: Path) -> None:
    clock = Clock()
    archive = Archive(tmp_path, keep=2, wall_clock=clock)
    ids = [new_run_id() for _ in range(3)]
    for run_id in ids:
        assert archive.save(run_id, finished_training())
        clock.now += 60
    assert archive.load(ids[0]) is None
    assert archive.load(ids[1]) is not None and archive.load(ids[2]) is not None
    assert len(files(tmp_path)) == 4  # two records, two weights files


def test_at_most_max_mb_the_oldest_removed_first(tmp_path: Path) -> None:
    clock = Clock()
    probe = Archive(tmp_path / "probe")
    probe.save(new_run_id(), finished_training())
    one = sum(p.stat().st_size for p in (tmp_path / "probe").iterdir())
    archive = Archive(tmp_path / "runs", max_mb=2.5 * one / 1e6, wall_clock=clock)
    ids = [new_run_id() for _ in range(3)]
    for run_id in ids:
        archive.save(run_id, finished_training())
        clock.now += 60
    assert [archive.load(i) is not None for i in ids] == [False, True, True]
    assert sum(p.stat().st_size for p in (tmp_path / "runs").iterdir()) <= 2.5 * one


def test_a_run_bigger_than_the_limit_on_its_own_is_not_kept(tmp_path: Path) -> None:
    archive, run_id = Archive(tmp_path, max_mb=0.001), new_run_id()
    assert not archive.save(run_id, finished_training())
    assert files(tmp_path) == []


def test_runs_older_than_days_are_cleaned(tmp_path: Path) -> None:
    clock = Clock()
    archive = Archive(tmp_path, days=7, wall_clock=clock)
    old, recent = new_run_id(), new_run_id()
    archive.save(old, finished_training())
    clock.now += 6 * DAY
    archive.save(recent, finished_training())
    assert archive.prune() == []
    clock.now += 1.5 * DAY  # old: 7.5 days, recent: 1.5 days
    assert archive.prune() == [old]
    assert archive.load(old) is None and archive.load(recent) is not None


def test_leftovers_of_a_crash_are_cleaned(tmp_path: Path) -> None:
    archive, run_id = Archive(tmp_path), new_run_id()
    orphan, temp = tmp_path / f"{new_run_id()}.0123abcd.pt", tmp_path / f".{run_id}.json.0123abcd.tmp"
    tmp_path.mkdir(exist_ok=True)
    orphan.write_bytes(b"weights whose record never got written")
    temp.write_bytes(b"half a record")
    (tmp_path / "notes.txt").write_text("not the archive's: left alone")
    archive.save(run_id, finished_training())
    assert not orphan.exists() and not temp.exists() and (tmp_path / "notes.txt").exists()
    assert archive.load(run_id) is not None


# --- hostile ids and bad records ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../x", "../" + "a" * 29, "/etc/passwd", "/" + "a" * 31, "a" * 31, "a" * 33,
                                 "A" * 32, "g" * 32, "a" * 32 + "\n", "", None, 12345])
def test_hostile_ids_are_refused(tmp_path: Path, bad: Any) -> None:
    archive = Archive(tmp_path / "runs")
    assert archive.load(bad) is None
    assert not archive.save(bad, finished_training())
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folder


def test_a_corrupt_record_is_skipped_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive, run_id = Archive(tmp_path), new_run_id()
    archive.save(run_id, finished_training())
    record = tmp_path / f"{run_id}.json"
    text = record.read_text()
    for broken in (text[: len(text) // 2], "not json", json.dumps([1, 2]),
                   text.replace('"state": "finished"', '"state": "exploded"'),
                   text.replace('"format": 1', '"format": 99')):
        record.write_text(broken)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="resnet_core.jobs.archive"):
            assert archive.load(run_id) is None
        assert any(run_id in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    runs = Runs(reap_every=None, archive=archive)
    assert runs.get(run_id) is None  # the page gets nothing, not an exception


def test_a_record_cannot_point_outside_the_folder(tmp_path: Path) -> None:
    folder, run_id = tmp_path / "runs", new_run_id()
    archive = Archive(folder)
    archive.save(run_id, finished_training())
    record = json.loads((folder / f"{run_id}.json").read_text())
    (tmp_path / "elsewhere.pt").write_bytes((folder / record["weights"]).read_bytes())
    for weights in ("../elsewhere.pt", str(tmp_path / "elsewhere.pt"), f"{new_run_id()}.0123abcd.pt"):
        (folder / f"{run_id}.json").write_text(json.dumps({**record, "weights": weights}))
        assert archive.load(run_id) is None
    # A record that is a link to a file elsewhere is not followed either.
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(record))
    (folder / f"{run_id}.json").unlink()
    (folder / f"{run_id}.json").symlink_to(outside)
    assert archive.load(run_id) is None


def test_weights_of_another_architecture_do_not_load(tmp_path: Path) -> None:
    archive, run_id = Archive(tmp_path), new_run_id()
    archive.save(run_id, finished_training())
    path = tmp_path / f"{run_id}.json"
    record = json.loads(path.read_text())
    record["snapshot"]["config"]["model"] = "resnet20"
    path.write_text(json.dumps(record))
    assert archive.load(run_id) is None


# --- settings ----------------------------------------------------------------------------------


def test_the_settings_and_their_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(RUNS_DIR_ENV, raising=False)
    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path / "cache"))
    assert runs_dir() == tmp_path / "cache" / "runs" and runs_keep() == 50 and runs_days() == 7.0
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "talk"))
    assert Archive().folder == tmp_path / "talk"
    monkeypatch.setenv(RUNS_DAYS_ENV, "a week")
    with pytest.raises(SettingError, match="RESNET_RUNS_DAYS must be a number of days"):
        runs_days()


def test_a_run_ids_record_is_its_latest_run(tmp_path: Path) -> None:
    def broken(config: TrainConfig, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash")

    archive, run_id = Archive(tmp_path), new_run_id()
    archive.save(run_id, finished_race())
    assert archive.save(run_id, finished_training())  # the same tab trained again: replaced
    assert isinstance(archive.load(run_id), TrainingJob) and len(files(tmp_path)) == 2
    failed = TrainingJob(TrainConfig(data="synthetic"), trainer_factory=broken).start()
    assert failed.join(10)
    assert not archive.save(run_id, failed)  # and then failed: nothing to reopen, not the old run
    assert archive.load(run_id) is None and files(tmp_path) == []


def test_shutdown_archives_a_run_that_ended_since_the_last_sweep(tmp_path: Path) -> None:
    runs, run_id = Runs(reap_every=None, archive=Archive(tmp_path)), new_run_id()
    runs.start(run_id, finished_training)
    assert runs.close(timeout=5)
    assert Runs(reap_every=None, archive=Archive(tmp_path)).get(run_id) is not None
