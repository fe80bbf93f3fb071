"""Harness for tests/test_shutdown.py: Streamlit's own server, with training and fine-tuning jobs in progress.

``python tests/serve_training.py PORT JOBS [--finetunes N] [--no-exit-hook]`` starts JOBS background
trainings and N last-stage fine-tunes through the server's runs (``resnet_core.jobs.RUNS``),
prints "training" once every training has taken a step and every fine-tune trains its last
stage, then runs the app with the same ``bootstrap.run`` that ``streamlit run app.py`` calls,
signal handlers included. Not a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_core.jobs import RUNS, FinetuneJob, TrainingJob, new_run_id  # noqa: E402
from resnet_core.train import TrainConfig  # noqa: E402


def _finetune_job() -> FinetuneJob:
    """A fine-tune of the shipped backbone that trains its last stage until stopped."""
    from pictures import shape_files  # tests/pictures.py: this script's own folder is on sys.path

    from resnet_core.finetune import SHIPPED, FinetuneConfig, load_backbone
    from resnet_core.userdata import read_pictures

    pictures = read_pictures(shape_files(per_class=32))
    config = FinetuneConfig(mode="last-stage", epochs=100_000, head_epochs=1)
    return FinetuneJob(pictures, lambda: load_backbone(SHIPPED), config)


def _busy(job: TrainingJob | FinetuneJob) -> bool:
    """True once the job is inside its heavy part: a training step taken, the last stage training."""
    snap = job.snapshot()
    return bool(snap.steps) if isinstance(job, TrainingJob) else snap.phase == "last-stage"


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    finetunes = int(sys.argv[sys.argv.index("--finetunes") + 1]) if "--finetunes" in sys.argv else 0
    # Long enough that every job is mid-run when the signal comes; small enough to step quickly.
    config = TrainConfig(model="resnet20", data="synthetic", subset=512, test_subset=256, batch_size=64,
                         epochs=None, budget_s=600.0, device="cpu", precision="fp32", log_every=1,
                         grad_norm_every=0)
    jobs: list[TrainingJob | FinetuneJob] = [
        RUNS.start(new_run_id(), lambda i=i: TrainingJob(config, label=f"run {i}").start()) for i in range(count)
    ]
    jobs += [RUNS.start(new_run_id(), _finetune_job().start) for _ in range(finetunes)]
    deadline = time.monotonic() + 120
    while not all(_busy(job) for job in jobs):
        if time.monotonic() > deadline or not all(job.is_active for job in jobs):
            sys.exit(f"jobs did not start training: {[job.snapshot().message for job in jobs]}")
        time.sleep(0.1)
    if "--no-exit-hook" in sys.argv:  # to show what the exit hook of the server's runs prevents
        import atexit

        from resnet_core.jobs import runs

        atexit.unregister(runs._shutdown)
    print("training", flush=True)

    from streamlit.web import bootstrap

    flags = {"server.port": port, "server.address": "127.0.0.1", "server.headless": True}
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(ROOT / "app.py"), False, [], flags)


if __name__ == "__main__":
    main()
