"""Harness for tests/test_shutdown.py: Streamlit's own server, with training jobs in progress.

``python tests/serve_training.py PORT JOBS [--no-exit-hook]`` starts JOBS background trainings through the app's
job registry, prints "training" once each has taken a step, then runs the app with the same
``bootstrap.run`` that ``streamlit run app.py`` calls, signal handlers included. Not a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_core.jobs import TrainingJob  # noqa: E402
from resnet_core.registry import REGISTRY, new_run_id  # noqa: E402
from resnet_core.train import TrainConfig  # noqa: E402


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    # Long enough that every job is mid-run when the signal comes; small enough to step quickly.
    config = TrainConfig(model="resnet20", data="synthetic", subset=512, test_subset=256, batch_size=64,
                         epochs=None, budget_s=600.0, device="cpu", precision="fp32", log_every=1,
                         grad_norm_every=0)
    jobs = [REGISTRY.start(new_run_id(), lambda i=i: TrainingJob(config, label=f"run {i}").start())
            for i in range(count)]
    deadline = time.monotonic() + 120
    while not all(job.snapshot().steps for job in jobs):
        if time.monotonic() > deadline or not all(job.is_active for job in jobs):
            sys.exit(f"jobs did not start training: {[job.snapshot().message for job in jobs]}")
        time.sleep(0.1)
    if "--no-exit-hook" in sys.argv:  # to show what the registry's exit hook prevents
        import atexit

        from resnet_core import registry

        atexit.unregister(registry._shutdown)
    print("training", flush=True)

    from streamlit.web import bootstrap

    flags = {"server.port": port, "server.address": "127.0.0.1", "server.headless": True}
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(ROOT / "app.py"), False, [], flags)


if __name__ == "__main__":
    main()
