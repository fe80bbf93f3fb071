"""Long work off the caller's thread: job objects the app polls, and the server's runs.

- :mod:`~resnet_core.jobs.job`: the :class:`Job` base (thread, stop event, locked history), its
  states, the one error text and the fields every snapshot shares (:class:`JobSnapshot`);
- :mod:`~resnet_core.jobs.training`, :mod:`~resnet_core.jobs.race`, :mod:`~resnet_core.jobs.finetune`:
  the Train page's :class:`TrainingJob` and :class:`RaceJob`, the Fine-tune page's
  :class:`FinetuneJob`, each with its frozen snapshot;
- :mod:`~resnet_core.jobs.insight`, :mod:`~resnet_core.jobs.download`: the Why it works page's heavy
  experiments (:class:`InsightJob`) and the CIFAR-10 download (:class:`DownloadJob`), under the same slot;
- :mod:`~resnet_core.jobs.runs`: :data:`RUNS`, every job of this server process by run id, with
  the limit, abandonment, expiry and shutdown.

Names resolve on first use (PEP 562), as in ``resnet_core`` itself: ``from resnet_core.jobs import
RUNS`` loads no torch, so every page's sidebar can look up its run; the job classes load torch.
Nothing here imports Streamlit: the pages and the tests are two clients of the same objects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resnet_core.jobs.download import DOWNLOAD_RUN_ID, DownloadJob, DownloadSnapshot
    from resnet_core.jobs.finetune import FinetuneJob, FinetuneSnapshot
    from resnet_core.jobs.insight import InsightJob, InsightSnapshot, is_heavy
    from resnet_core.jobs.job import TERMINAL_STATES, Job, JobSnapshot, JobState
    from resnet_core.jobs.race import RaceJob, RaceSnapshot
    from resnet_core.jobs.runs import (
        RUNS,
        Availability,
        JobHandle,
        JobRefused,
        Runs,
        format_duration,
        limit_message,
        new_run_id,
        valid_run_id,
    )
    from resnet_core.jobs.training import TrainingJob, TrainingSnapshot

#: Each public name and the module that defines it.
_HOMES: dict[str, str] = {
    **dict.fromkeys(("Job", "JobSnapshot", "JobState", "TERMINAL_STATES"), "job"),
    **dict.fromkeys(("TrainingJob", "TrainingSnapshot"), "training"),
    **dict.fromkeys(("RaceJob", "RaceSnapshot"), "race"),
    **dict.fromkeys(("FinetuneJob", "FinetuneSnapshot"), "finetune"),
    **dict.fromkeys(("DOWNLOAD_RUN_ID", "DownloadJob", "DownloadSnapshot"), "download"),
    **dict.fromkeys(("InsightJob", "InsightSnapshot", "is_heavy"), "insight"),
    **dict.fromkeys(("RUNS", "Runs", "Availability", "JobHandle", "JobRefused", "format_duration",
                     "limit_message", "new_run_id", "valid_run_id"), "runs"),
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:  # PEP 562: load a name's module when it is first asked for
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'resnet_core.jobs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"resnet_core.jobs.{home}"), name)
