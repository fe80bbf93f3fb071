"""Train page: the degradation race (the default), other plain/residual races, or one network.

Widgets build a race from ``resnet_core.lessons`` or a ``TrainConfig`` from its single-run
recipe; the work runs in a job in ``resnet_core.jobs.RUNS`` under this browser session,
so reruns and visits to other pages do not interrupt it; a fragment polls the job's snapshot once
a second and redraws the figures.
"""

from __future__ import annotations

import dataclasses
import io
import time

import streamlit as st

from resnet_core import jobs
from resnet_core.checkpoint import CheckpointError, load_checkpoint
from resnet_core.data import DataError, check_cifar10, visitor_cifar10_dir
from resnet_core.device import pick_device
from resnet_core.environment import find_cifar10_dir
from resnet_core.lessons import DEGRADATION, SCALES, Experiment, depth_experiment, twins_experiment
from resnet_core.models import get_spec, list_models
from resnet_core.race import ContenderResult, RaceConfig
from resnet_core.race_pace import measure_step_s
from resnet_core.reference_curves import RecordedRace, recorded_race
from resnet_core.replay import DURATION_S, FRAMES, TICK_S, next_position, replay_frame
from resnet_core.settings import data_folder_policy
from resnet_core.train import TrainConfig, TrainResult, single_run_recipe
from resnet_core.verdict import Verdict, grad_flow_words, race_time_words, single_run_note
from webui import url
from webui.figures import train as figures
from webui.guide import next_link
from webui.locality import served_locally, shown
from webui.presenter import expanded, presenting
from webui.shell import setup_page
from webui.state import offer_trained_model, run_id, watch_run
from webui.tables import markdown_table

POLL_S = 1.0  # seconds between chart refreshes while training
SEED_WORDS = "a seed (a whole number from 0 to 2147483647)"


def valid_seed(seed: int) -> bool:
    return 0 <= seed <= 2**31 - 1  # the Seed inputs' range
#: The terms the race's explanation (``resnet_core.lessons``) uses, each in one line.
RACE_TERMS = (
    "**6n+2**: the paper's CIFAR-10 networks have three stages of n blocks of two 3x3 convolutions, plus the "
    "first convolution and the last layer, 6n+2 layers in all (n = 3: 20 layers, n = 9: 56). **Option A**: "
    "where a stage halves the resolution and doubles the channels, the shortcut subsamples its input and pads "
    "the new channels with zeros, so it adds no parameters. **bench/degradation.py**: the project's benchmark "
    "script that times one step of each network on this kind of machine."
)
MODES = {
    "race": "The degradation race (plain-20, plain-56, ResNet-56)",
    "twins": "Plain vs residual, same depth",
    "depth": "Shallow vs deep",
    "one": "One network",
}

setup_page("Train", "📈")
st.title("Train a ResNet")
st.caption(
    "The paper's central experiment (Figure 1): a deeper plain network trains *worse*; the shortcut fixes it. "
    "Replay the recorded race, or run it live (in the background: you can switch pages)."
)
stage = st.container()  # the first screen: Start, Replay and the chart; the settings are drawn under it

sid = run_id("train", kind=(jobs.TrainingJob, jobs.RaceJob))  # in the URL: a reload finds the run again
watch_run(sid)
job = jobs.RUNS.get(sid)
running = job is not None and job.is_active
device = pick_device("auto")


@st.cache_data(ttl=60, show_spinner="Checking the CIFAR-10 folder ...")
def cifar10_problem(folder: str, local: bool) -> str | None:
    """None when ``folder`` (or the default location, if empty) has a readable CIFAR-10, else why not."""
    try:
        if folder:
            visitor_cifar10_dir(folder, local=local)  # what this server lets visitors read; says nothing else
        else:
            check_cifar10(None)  # every file there, the test batch readable; nothing kept in memory
    except DataError as exc:
        return str(exc)
    return None


def start(job_to_start: jobs.Job) -> None:
    """Start button callback: runs before the rerun, so the page draws the new state at once."""
    try:
        jobs.RUNS.start(sid, job_to_start.start)
        st.session_state.pop("train_notice", None)
    except jobs.JobRefused as exc:
        st.session_state["train_notice"] = str(exc)


def stop_job() -> None:
    jobs.RUNS.stop(sid)


def start_download() -> None:
    """Download button callback: the download is a job under the server's slot, one per server."""
    try:
        jobs.RUNS.start(jobs.DOWNLOAD_RUN_ID, jobs.DownloadJob().start)
        st.session_state.pop("download_notice", None)
    except jobs.JobRefused as exc:
        st.session_state["download_notice"] = str(exc)


def download_cifar10_block(needed: bool, running: bool) -> None:
    """The download button, or the download in progress (polled), or how the last one ended."""
    download = jobs.RUNS.get(jobs.DOWNLOAD_RUN_ID)
    if download is not None and download.is_active:

        @st.fragment(run_every=POLL_S)
        def poll_download() -> None:
            jobs.RUNS.touch(jobs.DOWNLOAD_RUN_ID)
            snap = download.snapshot()
            if snap.done:
                cifar10_problem.clear()
                st.rerun()  # the whole page: the data block finds the copy
            st.info(f"Downloading CIFAR-10 (170 MB) for this server: {jobs.format_duration(snap.elapsed_s)} so far.")

        poll_download()
        return
    if download is not None and download.snapshot().state == "failed":
        st.error(shown(download.snapshot().message))
    if needed:
        st.button("Download CIFAR-10 (170 MB)", key="download_cifar10", disabled=running, on_click=start_download)
        if notice := st.session_state.get("download_notice"):
            st.warning(notice)


def start_replay() -> None:
    """Replay button callback: the recorded race from its first frame."""
    st.session_state["replay_pos"] = 0
    st.session_state["replay_t0"] = time.monotonic()
    st.session_state.pop("replay_done", None)


@st.cache_resource(ttl=600, show_spinner=False)
def measured_step_s(key: str, _config: RaceConfig) -> float:
    """Seconds per step of this race on this server, measured on random images (``key`` names the race)."""
    return measure_step_s(_config)


st.subheader("Settings", divider="gray")
# --- 1. What to train and on what ------------------------------------------------------------
col_what, col_data = st.columns([3, 2], gap="large")
with col_what:
    url.bind("mode", "mode", "race", choices=list(MODES), what="a way to train")
    mode = st.radio("What to train", list(MODES), format_func=MODES.__getitem__, key="mode", disabled=running)
with col_data:
    found = find_cifar10_dir()
    source = st.radio("Data", ["CIFAR-10", "Synthetic shapes"], index=0 if found else 1, key="data_source",
                      disabled=running, horizontal=True)
    data_dir: str | None = None
    data_ok = True
    local = served_locally()  # a laptop or a talk: the box, prefilled; a public server: no path at all
    if source == "CIFAR-10":
        if data_folder_policy(local).mode == "off":  # a public server: only the copy it was set up with
            data_dir = ""
        else:
            data_dir = st.text_input("CIFAR-10 folder", value=str(found) if found and local else "", key="data_dir",
                                     disabled=running, placeholder="empty: the copy this server found",
                                     help="The cifar-10-batches-py folder, or its parent.").strip()
        problem = cifar10_problem(data_dir, local)
        data_ok = problem is None
        if not problem:
            pass
        elif found is None and not data_dir:
            st.warning("CIFAR-10 is not on this server yet: download it here (170 MB, needs internet), "
                       "or train on synthetic shapes.")
        else:
            st.error(shown(problem))
        if found is None:
            download_cifar10_block(problem is not None, running)
    else:
        st.caption("**Synthetic data:** generated coloured shapes in 10 classes. It is not CIFAR-10: "
                   "whatever a network reaches on it says nothing about real photos.")
data = "cifar10" if source == "CIFAR-10" else "synthetic"

# --- 2a. A race ----------------------------------------------------------------------------
new_job: jobs.Job | None = None
if mode != "one":
    paper_depths = [get_spec(m).depth for m in list_models("cifar") if get_spec(m).paper_family]
    c1, c2, c3 = st.columns(3)
    if mode == "race":
        experiment = DEGRADATION
    elif mode == "twins":
        depth = c1.selectbox("Depth", paper_depths, index=paper_depths.index(56), key="twin_depth", disabled=running)
        experiment = twins_experiment(depth)
    else:
        shallow = c1.selectbox("Shallow", paper_depths, index=0, key="shallow", disabled=running)
        deep = c2.selectbox("Deep", paper_depths, index=paper_depths.index(56), key="deep", disabled=running)
        residual = c3.toggle("With shortcuts", value=False, key="depth_residual", disabled=running,
                             help="Off: the paper's Figure 1, where the deeper plain net is worse. On: the fix.")
        experiment = depth_experiment(shallow, deep, residual) if shallow != deep else None
        if experiment is None:
            st.warning("Pick two different depths.")
    scale_names = list(SCALES)
    url.bind("scale", "scale", "paper" if device.type == "cuda" else "quick", choices=scale_names, what="a scale")
    scale_name = st.radio(
        "Scale", scale_names,
        format_func=lambda s: SCALES[s].description.split(":")[0].capitalize(), horizontal=True,
        key="scale", disabled=running,
    )
    scale = SCALES[scale_name]
    st.caption(scale.description[0].upper() + scale.description[1:] + ".")
    with st.expander("Advanced settings"):
        a1, a2 = st.columns(2)
        url.bind("seed", "race_seed", 0, parse=int, valid=valid_seed, what=SEED_WORDS)
        seed = a1.number_input("Seed", min_value=0, max_value=2**31 - 1, key="race_seed", disabled=running)
        steps = a2.number_input("Steps per network", min_value=10, max_value=200_000, value=scale.steps, step=50,
                                key=f"race_steps_{scale_name}", disabled=running,
                                help="The paper's x-axis is iterations: every network gets exactly these steps.")
    if experiment is not None:
        config = experiment.config(scale_name, seed=int(seed), device="auto", data=data,
                                   data_dir=data_dir or None, steps=int(steps))
        new_job = jobs.RaceJob(experiment, scale, config, session_id=sid)
        with st.expander("What this race shows, and what the paper found", expanded=expanded(False)):
            st.markdown(experiment.explanation)
            st.markdown(f"**What the paper found.** {experiment.paper}")
            st.caption(RACE_TERMS)

# --- 2b. One network -------------------------------------------------------------------------
else:
    recipe = single_run_recipe(device.type)
    cifar_models = list_models(family="cifar")
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Network", cifar_models, index=cifar_models.index(recipe.model), key="model",
                         format_func=lambda n: f"{n} ({get_spec(n).depth} layers)", disabled=running)
    residual = c1.toggle("Residual (shortcut connections)", value=True, key="residual", disabled=running)
    by_time = c2.radio("Stop after", ["a time budget", "a number of epochs"], key="length", horizontal=True,
                       index=0 if recipe.budget_s else 1, disabled=running) == "a time budget"
    if by_time:
        budget_s = c2.number_input("Seconds of training", min_value=5, max_value=3600, step=15,
                                   value=int(recipe.budget_s or 120), key="budget_s", disabled=running,
                                   help="Training time; the test evaluations come on top.")
        epochs = None
    else:
        epochs = c2.number_input("Epochs", min_value=0.1, max_value=200.0, step=1.0,
                                 value=float(recipe.epochs or 8.0), key="epochs", disabled=running)
        budget_s = None
    batch_sizes = sorted({32, 64, 128, 256, 512, recipe.batch_size})
    batch_size = c3.selectbox("Batch size", batch_sizes, index=batch_sizes.index(recipe.batch_size),
                              key="batch_size", disabled=running)
    lr = c3.number_input("Learning rate (peak)", min_value=1e-5, max_value=10.0, value=float(recipe.lr),
                         step=0.01, format="%.4f", key="lr", disabled=running)
    with st.expander("Advanced settings"):
        a1, a2 = st.columns(2)
        subset = a1.number_input("Training images (0 = all)", min_value=0, max_value=50_000, step=1000,
                                 value=int(recipe.subset or 0), key="subset", disabled=running)
        url.bind("seed", "seed", int(recipe.seed), parse=int, valid=valid_seed, what=SEED_WORDS)
        seed = a1.number_input("Seed", min_value=0, max_value=2**31 - 1, key="seed", disabled=running)
        label_smoothing = a2.number_input("Label smoothing", min_value=0.0, max_value=0.5,
                                          value=float(recipe.label_smoothing), step=0.05, key="label_smoothing",
                                          disabled=running)
        weight_decay = a2.number_input("Weight decay", min_value=0.0, max_value=0.1,
                                       value=float(recipe.weight_decay), step=1e-4, format="%.5f",
                                       key="weight_decay", disabled=running)
    try:
        config1 = dataclasses.replace(
            recipe, model=model, residual=residual, data=data, data_dir=data_dir or None, epochs=epochs,
            budget_s=budget_s, batch_size=int(batch_size), lr=float(lr), subset=int(subset) or None,
            seed=int(seed), label_smoothing=float(label_smoothing), weight_decay=float(weight_decay),
        )  # fmt: skip
        new_job = jobs.TrainingJob(config1, session_id=sid)
    except ValueError as exc:  # TrainConfig validates itself and says what is wrong
        st.error(f"These settings do not make a valid run: {exc}")

# --- The first screen: Run it live / Replay / Stop, then the chart ------------------------------
recorded = recorded_race(DEGRADATION, "quick") if mode == "race" else None
replaying = recorded is not None and not running and st.session_state.get("replay_pos") is not None
with stage:
    bar = st.container(horizontal=True, vertical_alignment="center")  # buttons keep their labels on narrow screens
    slot = jobs.RUNS.availability()
    bar.button("Start" if mode == "one" else "Run it live", type="primary", key="start",
               disabled=running or new_job is None or not data_ok or not slot.free, on_click=start, args=(new_job,))
    if recorded is not None:
        bar.button("Replay", key="replay", disabled=running, on_click=start_replay,
                   help=f"The recorded race, start to verdict, in {DURATION_S:.0f} seconds.")
    bar.button("Stop", key="stop", disabled=not running, on_click=stop_job)
    if isinstance(new_job, jobs.RaceJob) and not running:
        cfg = new_job.config
        bar.caption(f"{len(cfg.contenders)} networks × {cfg.steps:,} steps each, in lockstep, on {device.type.upper()}")
    time_note = st.empty()  # filled at the end of the script: measuring the pace takes a few seconds
    if not running and not slot.free:
        st.info(slot.busy_message())  # at once, not after a click on Start

        @st.fragment(run_every=5.0)
        def wait_for_slot() -> None:
            if jobs.RUNS.availability().free:
                st.rerun()  # the whole page: Start becomes clickable

        wait_for_slot()
    elif notice := st.session_state.get("train_notice"):
        st.warning(notice)
    if not running and jobs.RUNS.abandoned(sid):
        st.info(f"This run was stopped because no browser tab watched it for {jobs.RUNS.abandon_s:.0f} s. "
                "Its results so far are below.")


# --- 3. Live view: a fragment polls the job without rerunning the page ------------------------
def race_view(snap: jobs.RaceSnapshot) -> None:
    done_steps = snap.steps[-1].step if snap.steps else 0
    st.progress(snap.progress, text=f"Live race: {snap.message}: step {done_steps:,} of {snap.config.steps:,}"
                if not snap.done else f"Live race: {snap.state}")
    if not snap.steps:
        if not snap.done:
            st.caption("Loading the data and building the networks: the curves start with the first step.")
    else:
        same = snap.config.data == "cifar10" and recorded_for(snap)
        reference = recorded_for(snap) if same else None
        left, right = st.columns([3, 2])
        left.plotly_chart(figures.race_error_figure(snap, reference, whole_recorded=bool(
            st.session_state.get("race_whole_recorded"))), key="chart_race", width="stretch")
        if reference is not None:
            how = "" if presenting() else f" with `{reference.command}`"  # a developer command: not for an audience
            left.caption(f"Dotted and faint: the recorded race ({reference.steps:,} steps{how} on "
                         f"{reference.date}, {reference.machine}, seed {reference.seed}); "
                         "it shows where the live curves are heading.")
        if snap.grads:
            right.plotly_chart(figures.race_grad_flow_figure(snap), key="chart_race_grad", width="stretch")
            flows = {label: snap.grad_flow(i)[1] for i, label in enumerate(snap.labels)}
            right.caption(grad_flow_words(flows) + " (An order of magnitude is a factor of ten.) With batch norm a "
                          "deep plain net's gradients need not vanish; "
                          "the paper (section 4.1) finds them healthy and blames a harder optimisation problem.")
    m1, m2, m3 = st.columns(3)
    m1.metric("Steps per network", f"{done_steps:,} / {snap.config.steps:,}")
    m2.metric("Elapsed", jobs.format_duration(snap.elapsed_s))
    m3.metric("Time left", jobs.format_duration(snap.eta_s) if not snap.done else "done")
    if snap.pace_note:
        st.warning(snap.pace_note)


def recorded_for(snap: jobs.RaceSnapshot) -> RecordedRace | None:
    """The recorded race of the same experiment and scale, if one is shipped."""
    return recorded_race(snap.experiment, snap.scale.name)


def single_view(snap: jobs.TrainingSnapshot) -> None:
    st.progress(snap.progress, text=f"{snap.message}: {snap.progress:.0%}" if not snap.done else snap.state)
    m1, m2, m3, m4 = st.columns([2, 1, 1, 1])
    m1.metric("Network", snap.label)
    m2.metric("Elapsed", jobs.format_duration(snap.elapsed_s))
    m3.metric("Time left", jobs.format_duration(snap.eta_s) if not snap.done else "done")
    m4.metric("Images / s", f"{snap.images_per_s:,.0f}" if snap.images_per_s else "...")
    if not snap.steps:
        if not snap.done:
            st.caption("Loading the data and building the network: the charts start with the first logged step.")
        return
    c1, c2 = st.columns(2)
    c1.plotly_chart(figures.loss_figure(snap), key="chart_loss", width="stretch")
    c2.plotly_chart(figures.accuracy_figure(snap), key="chart_acc", width="stretch")
    c3, c4 = st.columns(2)
    c3.plotly_chart(figures.lr_figure(snap), key="chart_lr", width="stretch")
    if snap.grad_norms:
        c4.plotly_chart(figures.grad_flow_figure(snap), key="chart_grad", width="stretch")


@st.fragment(run_every=POLL_S if running else None)
def live_view(was_running: bool) -> None:
    watch_run(sid)  # heartbeat: a run no tab polls stops after $RESNET_ABANDON_S
    current = jobs.RUNS.get(sid)
    if current is None:
        return
    snap = current.snapshot()
    if was_running and snap.done:
        st.rerun()  # the whole page: results, download buttons, enabled widgets
    if isinstance(snap, jobs.RaceSnapshot):
        race_view(snap)
    else:
        single_view(snap)


live_shown = job is not None and not replaying
if live_shown:
    with stage:
        if recorded is not None and isinstance(job, jobs.RaceJob) and job.config.data == "cifar10":
            st.toggle(f"Show the recorded race to its end ({recorded.steps:,} steps)", key="race_whole_recorded",
                      help="The x-axis spans the live race's steps; this widens it to the recorded run's.")
        live_view(running)


# --- 4. Results -------------------------------------------------------------------------------
def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def show_verdict(judged: Verdict) -> None:
    """The verdict's headline in a box (green only when every comparison went as in the paper), then each finding."""
    box = st.success if judged.conclusive and all(
        f.outcome == "as in the paper" for f in judged.findings) else st.info
    box(judged.headline)
    for finding in judged.findings:
        st.markdown(f"- {finding.text}")


def results_table(experiment: Experiment, results: tuple[ContenderResult, ...], test_images: int) -> None:
    rows = []
    for r in results:
        paper = experiment.paper_error(r.contender.label)
        rows.append({
            "network": r.contender.label, "steps": r.steps, "status": r.status,
            "training error (last 10% of steps)": percent(r.train_error),
            f"test error ({test_images:,} images)": percent(r.test_error),
            "paper, Table 6 (full scale)": "—" if paper is None else f"{paper:.2f}%",
        })
    st.markdown(markdown_table(rows, right=("steps",)))


def race_results(snap: jobs.RaceSnapshot) -> None:
    if snap.state == "failed":
        st.error(f"The race failed: {shown(snap.message)}")
        return
    if snap.state == "stopped":
        st.info("Stopped. The curves so far are kept above.")
    if snap.verdict is None or snap.result is None:
        return
    show_verdict(snap.verdict)
    results_table(snap.experiment, snap.result.results, snap.config.test_subset or 10_000)
    where = "synthetic shapes (not CIFAR-10)" if snap.config.data == "synthetic" else "the CIFAR-10 copy on this machine"
    st.caption(f"Measured in this run on {where}, {snap.scale.description}. The paper's numbers are for its "
               "full-size networks after 64,000 steps: compare the ranking, not the values.")


def checkpoint_bytes(job_id: str, result: TrainResult) -> bytes:
    """The run's checkpoint, serialised once per job and kept in the session."""
    cache = st.session_state.setdefault("train_checkpoint", {})
    if job_id not in cache:
        buffer = io.BytesIO()
        result.save(buffer)
        st.session_state["train_checkpoint"] = cache = {job_id: buffer.getvalue()}  # only the latest
    return cache[job_id]


def single_results(snap: jobs.TrainingSnapshot) -> None:
    note = single_run_note(snap.result) if snap.result is not None else None
    if snap.state == "finished" and note:
        st.warning(f"Training finished, but: {note}")
    elif snap.state == "finished":
        st.success("Training finished.")
    elif snap.state == "stopped":
        st.info("Stopped. The network trained so far is below and can be downloaded.")
    elif snap.state == "diverged":
        st.warning(snap.message)
    elif snap.state == "failed":
        st.error(f"Training failed: {shown(snap.message)}")
        st.caption("Change the settings above (a smaller batch or learning rate, or synthetic data) and start again.")
    result = snap.result
    if result is None:
        return
    r1, r2, r3, r4, r5 = st.columns(5)
    r1.metric("Test accuracy", percent(result.test_acc))
    r2.metric("Test loss", "n/a" if result.test_loss is None else f"{result.test_loss:.3f}")
    r3.metric("Full epochs", f"{result.epochs_completed}")
    r4.metric("Training time", f"{result.train_seconds:.0f} s")
    r5.metric("Images / s", f"{result.images_per_second:,.0f}")
    cfg = result.config
    n = f"{cfg.test_subset:,}" if cfg.test_subset else "all 10,000"
    st.caption("Test accuracy on " + ("synthetic shapes (not CIFAR-10)." if cfg.data == "synthetic"
                                      else f"{n} test images of the CIFAR-10 copy on this machine."))
    if result.status == "diverged":
        return  # NaN weights: nothing worth downloading or classifying with
    payload = checkpoint_bytes(snap.job_id, result)
    d1, d2 = st.columns([1, 3])
    d1.download_button("Download checkpoint", data=payload, file_name=f"{snap.label.replace(' ', '-')}.pt",
                       mime="application/octet-stream", key="download")
    offer = f"{snap.label} (trained here, {percent(result.test_acc)} test, {cfg.data})"
    # Once per run, not per rerun: rebuilding the model from bytes every second would be waste.
    offered: set[str] = st.session_state.setdefault("train_offered", set())
    if snap.job_id not in offered:
        try:
            offer_trained_model(offer, load_checkpoint(payload))
            offered.add(snap.job_id)
        except CheckpointError as exc:
            st.error(f"Could not offer this model to Classify and Grad-CAM: {exc}")
    if snap.job_id in offered:
        d2.caption(f"Available on the Classify and Grad-CAM pages as “{offer}”.")


if live_shown and not running:
    final = job.snapshot()
    with stage:
        if isinstance(final, jobs.RaceSnapshot):
            race_results(final)
        else:
            single_results(final)


# --- 5. The recorded race: drawn before anything is pressed, and replayed on request ------------
def recorded_words(race: RecordedRace) -> str:
    """Where, when and how the recorded race was made, from its file."""
    data = race.data
    if race.on_cifar10 and race.from_local_copy:
        data += ", read from an offline copy of CIFAR-10 on disk"
    return (f"**Recorded, not live:** the whole {race.steps:,}-step schedule, run on {race.date} on "
            f"{race.machine} (seed {race.seed}). Data: {data}.")


@st.fragment(run_every=TICK_S if replaying else None)
def recorded_view(race: RecordedRace) -> None:
    """The recorded race, whole, or the replay's current frame; a timer tick advances the replay."""
    position = st.session_state.get("replay_pos")
    frame = replay_frame(race, FRAMES if position is None else position)
    if position is not None and not frame.done:
        st.progress(frame.position / frame.frames,
                    text=f"Replay of the recorded race: step {frame.step:,} of {race.steps:,}")
    st.plotly_chart(figures.recorded_race_figure(frame, race), key="chart_recorded", width="stretch")
    st.caption(recorded_words(race))
    if frame.verdict is None:
        st.caption(f"Replay: step {frame.step:,} of {race.steps:,}. The verdict comes at the end, as in a live race.")
    else:
        if st.session_state.get("replay_done"):
            st.caption(f"Replay finished: all {race.steps:,} recorded steps, and the verdict computed from them.")
        show_verdict(frame.verdict)
        results_table(race.experiment, race.results, SCALES["quick"].test_subset or 10_000)
        how = "" if presenting() else f"Recorded with `{race.command}`. "  # a developer command: not for an audience
        st.caption(f"{how}Test errors on a {SCALES['quick'].test_subset:,}-image "
                   f"subset; {SCALES['quick'].description.split(', the first')[0]}. The paper's numbers are "
                   "for its full-size networks after 64,000 steps: compare the ranking, not the values.")
    if position is None:
        return
    if frame.done:  # the whole page again: the timer stops, the buttons are as before
        for key in ("replay_pos", "replay_t0"):
            st.session_state.pop(key, None)
        st.session_state["replay_done"] = True
        st.rerun()
    st.session_state["replay_pos"] = next_position(position, time.monotonic() - st.session_state.get("replay_t0", time.monotonic()))


if recorded is not None and not live_shown:
    with stage:
        recorded_view(recorded)

# Last, so that measuring (a few seconds, once per server and race every 10 minutes) delays nothing above.
if isinstance(new_job, jobs.RaceJob) and not running and slot.free and data_ok:
    race_cfg = new_job.config
    pace_key = f"{[(c.model, c.residual) for c in race_cfg.contenders]} {race_cfg.resolution} {race_cfg.widths} {device}"
    words, recommend = race_time_words(measured_step_s(pace_key, race_cfg), race_cfg.steps,
                                       replay_s=DURATION_S if recorded is not None else None)
    (time_note.warning if recommend else time_note.caption)(words)

next_link()
