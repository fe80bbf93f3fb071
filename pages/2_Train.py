"""Train page: train a CIFAR ResNet live, or a plain network against its residual twin.

Widgets build a ``TrainConfig`` (``dataclasses.replace`` on the device's defaults); the run
happens on a background thread owned by ``resnet_core.jobs.REGISTRY`` under this browser
session's id, so reruns and visits to other pages do not interrupt it; a fragment polls the
job's snapshot once a second and redraws the charts.
"""

from __future__ import annotations

import dataclasses
import io

import streamlit as st

import charts
import ui
from resnet_core import jobs
from resnet_core.checkpoint import CheckpointError, load_checkpoint
from resnet_core.data import DataError, check_cifar10, download_cifar10, visitor_cifar10_dir
from resnet_core.device import pick_device
from resnet_core.environment import find_cifar10_dir
from resnet_core.settings import data_folder_policy
from resnet_core.models import get_spec, list_models
from resnet_core.train import TrainConfig, TrainResult

POLL_S = 1.0  # seconds between chart refreshes while training
# CIFAR-10 test error (%) of the residual nets in the paper's Table 6 (ResNet-110: mean of 5 runs).
PAPER_ERROR = {"resnet20": 8.75, "resnet32": 7.51, "resnet44": 7.17, "resnet56": 6.97, "resnet110": 6.43}
EXPERIMENTS = {
    "one": "One network",
    "twins": "Plain vs residual, same depth",
    "depth": "Shallow vs deep",
}

ui.setup_page("Train", "📈")
st.title("Train a ResNet")
st.caption(
    "Train a CIFAR-10 ResNet here and watch it learn, or race a plain network against its "
    "residual twin. Training runs in the background: you can switch pages and come back."
)

sid = ui.run_id()  # in the URL: a reload finds the run again
ui.watch_run(sid)
job = jobs.REGISTRY.get(sid)
running = job is not None and job.is_active
device = pick_device("auto")
defaults = TrainConfig.for_device(device.type)
on_cpu = device.type == "cpu"


@st.cache_data(ttl=60, show_spinner="Checking the CIFAR-10 folder ...")
def cifar10_problem(folder: str) -> str | None:
    """None when ``folder`` (or the default location, if empty) has a readable CIFAR-10, else why not."""
    try:
        if folder:
            visitor_cifar10_dir(folder)  # what this server lets visitors read; says nothing about other paths
        else:
            check_cifar10(None)  # every file there, the test batch readable; nothing kept in memory
    except DataError as exc:
        return str(exc)
    return None


def start_job(runs: list[jobs.RunSpec]) -> None:
    """Start button callback: runs before the rerun, so the page draws the new state at once."""
    try:
        jobs.REGISTRY.start(sid, lambda: jobs.TrainingJob(runs).start())
        st.session_state.pop("train_notice", None)
    except (jobs.JobRefused, ValueError) as exc:
        st.session_state["train_notice"] = str(exc)


def stop_job() -> None:
    jobs.REGISTRY.stop(sid)


# --- 1. Data --------------------------------------------------------------------------------
col_data, col_model, col_length = st.columns(3, gap="large")
with col_data:
    st.subheader("Data")
    found = find_cifar10_dir()
    source = st.radio("Train on", ["CIFAR-10", "Synthetic shapes"], index=0 if found else 1,
                      key="data_source", disabled=running, horizontal=True)
    data_dir: str | None = None
    data_ok = True
    if source == "CIFAR-10":
        if data_folder_policy().mode == "off":  # a public server: only the copy it was set up with
            data_dir = ""
        else:
            data_dir = st.text_input("CIFAR-10 folder", value=str(found) if found else "", key="data_dir",
                                     disabled=running, help="The cifar-10-batches-py folder, or its parent.").strip()
        problem = cifar10_problem(data_dir)
        data_ok = problem is None
        if not problem:
            st.caption(f"Reading the CIFAR-10 copy at `{data_dir or found}`.")
        elif found is None and not data_dir:
            st.warning("CIFAR-10 is not on this server yet: download it here (170 MB, needs internet), "
                       "or train on synthetic shapes.")
        else:
            st.error(problem)
        if problem and found is None and st.button("Download CIFAR-10 (170 MB)", disabled=running):
            with st.spinner("Downloading CIFAR-10 ..."):
                try:
                    download_cifar10(progress=False)
                except DataError as exc:
                    st.error(str(exc))
                else:
                    cifar10_problem.clear()
                    st.rerun()
    else:
        st.caption(
            "**Synthetic data:** generated coloured shapes in 10 classes, learnable in seconds. "
            "It is not CIFAR-10: accuracy on it says nothing about real photos."
        )

# --- 2. Model and experiment ------------------------------------------------------------------
cifar_models = list_models(family="cifar")
# The paper's 6n+2 family (section 4.2), the one its Figures 1 and 6 are about.
paper_models = [m for m in cifar_models if m in PAPER_ERROR]
with col_model:
    st.subheader("Model")
    experiment = st.radio("Experiment", list(EXPERIMENTS), format_func=EXPERIMENTS.__getitem__,
                          key="experiment", disabled=running)
    if experiment == "one":
        model = st.selectbox("Network", cifar_models, index=cifar_models.index(defaults.model), key="model",
                             format_func=lambda n: f"{n} ({get_spec(n).depth} layers)", disabled=running)
        residual = st.toggle("Residual (shortcut connections)", value=True, key="residual", disabled=running)
        runs_for = lambda config: [jobs.RunSpec(f"{'residual' if config.residual else 'plain'} {config.model}", config)]  # noqa: E731
    elif experiment == "twins":
        model = st.selectbox("Depth", paper_models, index=paper_models.index("resnet56"), key="twin_model",
                             format_func=lambda n: f"{get_spec(n).depth} layers ({n})", disabled=running)
        residual = True
        st.caption("Trains the plain network, then its residual twin: same layers, same data, same "
                   "seed. The paper's Figure 6 story is plain-56 against ResNet-56.")
        runs_for = jobs.comparison_runs
    else:
        shallow = st.selectbox("Shallow", paper_models, index=0, key="shallow", disabled=running)
        model = st.selectbox("Deep", paper_models, index=paper_models.index("resnet56"), key="deep", disabled=running)
        residual = st.toggle("Residual (shortcut connections)", value=False, key="depth_residual", disabled=running,
                             help="Off: the paper's Figure 1, where the deeper plain net is worse. On: the fix.")
        runs_for = lambda config: jobs.depth_runs(config, shallow, config.model)  # noqa: E731

# --- 3. How long and how fast -----------------------------------------------------------------
# Widget defaults come from the device's recipe; the comparisons use the paper's optimiser
# settings instead. Keys carry the group so switching experiment shows that group's defaults.
group = "one" if experiment == "one" else "compare"
recipe = defaults if group == "one" else jobs.paper_recipe(defaults)
if on_cpu:
    # A CPU step takes a second or more and reading a metric or a gradient norm costs nothing
    # next to it (no device sync), so record every step: live charts, and a gradient-flow
    # chart even for a plain net that only gets a few steps in its budget. A full 50,000-image epoch would take many
    # minutes on 2 cores: default to a subset so a run reaches epochs (and test points).
    recipe = dataclasses.replace(
        recipe, log_every=1, grad_norm_every=1,
        subset=recipe.subset or (5000 if group == "one" else 2000), test_subset=recipe.test_subset or 1000,
    )
default_budget = 60 if group == "one" or not on_cpu else 120  # seconds per network: 4 minutes for a pair

with col_length:
    st.subheader("Training")
    by_time = st.radio("Stop after", ["a time budget", "a number of epochs"], key="length", horizontal=True,
                       disabled=running) == "a time budget"
    if by_time:
        budget_s = st.number_input("Seconds per network", min_value=5, max_value=3600, step=15,
                                   value=int(recipe.budget_s or default_budget), key=f"budget_s_{group}",
                                   disabled=running, help="Training time; the test evaluations come on top.")
        epochs = None
    else:
        epochs = st.number_input("Epochs", min_value=0.1, max_value=200.0, step=1.0,
                                 value=float(recipe.epochs or 1.0), key=f"epochs_{group}", disabled=running)
        budget_s = None
    batch_sizes = sorted({32, 64, 128, 256, 512, recipe.batch_size})
    batch_size = st.selectbox("Batch size", batch_sizes, index=batch_sizes.index(recipe.batch_size),
                              key=f"batch_size_{group}", disabled=running)
    lr = st.number_input("Learning rate (peak)", min_value=1e-5, max_value=10.0, value=float(recipe.lr),
                         step=0.01, format="%.4f", key=f"lr_{group}", disabled=running)

with st.expander("Advanced settings"):
    a1, a2, a3 = st.columns(3)
    subset = a1.number_input("Training images (0 = all)", min_value=0, max_value=50_000, step=1000,
                             value=int(recipe.subset or 0), key=f"subset_{group}", disabled=running)
    test_subset = a1.number_input("Test images (0 = all)", min_value=0, max_value=10_000, step=500,
                                  value=int(recipe.test_subset or 0), key=f"test_subset_{group}", disabled=running)
    seed = a1.number_input("Seed", min_value=0, max_value=2**31 - 1, value=int(recipe.seed), key="seed",
                           disabled=running)
    momentum = a2.number_input("Momentum", min_value=0.0, max_value=0.999, value=float(recipe.momentum),
                               step=0.05, key=f"momentum_{group}", disabled=running)
    weight_decay = a2.number_input("Weight decay", min_value=0.0, max_value=0.1, value=float(recipe.weight_decay),
                                   step=1e-4, format="%.5f", key=f"weight_decay_{group}", disabled=running)
    label_smoothing = a2.number_input("Label smoothing", min_value=0.0, max_value=0.5,
                                      value=float(recipe.label_smoothing), step=0.05,
                                      key=f"label_smoothing_{group}", disabled=running)
    log_every = a3.number_input("Log every (steps)", min_value=1, max_value=1000, value=int(recipe.log_every),
                                key=f"log_every_{group}", disabled=running)
    grad_norm_every = a3.number_input("Gradient norms every (steps, 0 = off)", min_value=0, max_value=1000,
                                      value=int(recipe.grad_norm_every), key=f"grad_norm_every_{group}",
                                      disabled=running)
    devices = ["auto", "cpu"] + (["cuda"] if device.type == "cuda" else [])
    run_device = a3.selectbox("Device", devices, key="device", disabled=running)

config: TrainConfig | None
try:
    config = dataclasses.replace(
        recipe,
        model=model, residual=residual, data="cifar10" if source == "CIFAR-10" else "synthetic",
        data_dir=data_dir or None, epochs=epochs, budget_s=budget_s, batch_size=int(batch_size), lr=float(lr),
        subset=int(subset) or None, test_subset=int(test_subset) or None, seed=int(seed),
        momentum=float(momentum), weight_decay=float(weight_decay), label_smoothing=float(label_smoothing),
        log_every=int(log_every), grad_norm_every=int(grad_norm_every), device=run_device,
    )
except ValueError as exc:  # TrainConfig validates itself and says what is wrong
    config = None
    st.error(f"These settings do not make a valid run: {exc}")

b1, b2, b3 = st.columns([1, 1, 5])
slot = jobs.REGISTRY.availability()
b1.button("Start training", type="primary", key="start",
          disabled=running or config is None or not data_ok or not slot.free,
          on_click=start_job, args=(runs_for(config) if config is not None else [],))
b2.button("Stop", key="stop", disabled=not running, on_click=stop_job)
if config is not None and not running:
    n = len(runs_for(config))
    length = f"{budget_s:.0f} s" if budget_s else f"{epochs:g} epochs"
    b3.caption(f"{n} network{'s' if n > 1 else ''} × {length} on {device.type.upper()}"
               + (", one after the other" if n > 1 else ""))
if not running and not slot.free:
    st.info(slot.busy_message())  # at once, not after a click on Start

    @st.fragment(run_every=5.0)
    def wait_for_slot() -> None:
        if jobs.REGISTRY.availability().free:
            st.rerun()  # the whole page: Start becomes clickable

    wait_for_slot()
elif notice := st.session_state.get("train_notice"):
    st.warning(notice)
if not running and jobs.REGISTRY.abandoned(sid):
    st.info(f"This run was stopped because no browser tab watched it for {jobs.REGISTRY.abandon_s:.0f} s. "
            "Its results so far are below.")


# --- 4. Live view: a fragment polls the job without rerunning the page ------------------------
@st.fragment(run_every=POLL_S if running else None)
def live_view(was_running: bool) -> None:
    ui.watch_run(sid)  # heartbeat: a run no tab polls stops after $RESNET_ABANDON_S
    current = jobs.REGISTRY.get(sid)
    if current is None:
        return
    snap = current.snapshot()
    if was_running and snap.done:
        st.rerun()  # the whole page: results, download buttons, enabled widgets
    run = snap.runs[snap.current]
    heading = "Network" if len(snap.runs) == 1 else f"Network {snap.current + 1} of {len(snap.runs)}"
    st.progress(snap.progress, text=f"{snap.message}: {snap.progress:.0%}" if not snap.done else f"{snap.state}")
    m1, m2, m3, m4 = st.columns([2, 1, 1, 1])
    m1.metric(heading, run.label)
    m2.metric("Elapsed", jobs.format_duration(snap.elapsed_s))
    m3.metric("Time left", jobs.format_duration(snap.eta_s) if not snap.done else "done")
    m4.metric("Images / s", f"{snap.images_per_s:,.0f}" if snap.images_per_s else "...")
    if not any(r.steps for r in snap.runs):  # nothing to chart (yet, or ever if it failed early)
        if not snap.done:
            st.caption("Loading the data and building the network: the charts start with the first logged step.")
        return
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.loss_figure(snap), key="chart_loss", width="stretch")
    c2.plotly_chart(charts.accuracy_figure(snap), key="chart_acc", width="stretch")
    c3, c4 = st.columns(2)
    c3.plotly_chart(charts.lr_figure(snap), key="chart_lr", width="stretch")
    if any(r.grad_norms for r in snap.runs):
        c4.plotly_chart(charts.grad_flow_figure(snap), key="chart_grad", width="stretch")
        if len(snap.runs) > 1:
            c4.caption(
                "In a deep plain net the gradient norm swings by orders of magnitude between the input "
                "and output layers and shrinks towards the input as training goes on; shortcuts keep it "
                "in a narrow band. With BatchNorm the plain net's gradients do not simply vanish: the "
                "paper (section 4.1) blames a harder optimisation problem, not dead gradients."
            )
    else:
        c4.caption("Gradient flow appears after the first gradient-norm record "
                   "(Advanced settings: gradient norms every N steps).")


if job is not None:
    st.divider()
    live_view(running)


# --- 5. Results -------------------------------------------------------------------------------
def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def data_words(result: TrainResult) -> str:
    """Where the test accuracy was measured, in words."""
    cfg = result.config
    if cfg.data == "synthetic":
        return "synthetic shapes (not CIFAR-10)"
    n = f"{cfg.test_subset:,}" if cfg.test_subset else "all 10,000"
    return f"{n} test images of the offline CIFAR-10 copy"


def checkpoint_bytes(job_id: str, index: int, result: TrainResult) -> bytes:
    """The run's checkpoint, serialised once per job and kept in the session."""
    cache = st.session_state.setdefault("train_checkpoints", {})
    key = f"{job_id}:{index}"
    if key not in cache:
        buffer = io.BytesIO()
        result.save(buffer)
        cache = {k: v for k, v in cache.items() if k.startswith(job_id)}  # keep only this job's
        cache[key] = buffer.getvalue()
        st.session_state["train_checkpoints"] = cache
    return cache[key]


def paper_note(snap: jobs.JobSnapshot, results: list[TrainResult]) -> None:
    """What the paper found next to what this run found, for the two-network experiments."""
    first, second = snap.runs[0], snap.runs[1]
    verdict = jobs.leader(results[0], results[1])
    got = " · ".join(f"**{r.label}**: test {percent(res.test_acc)}" + (
        f", train {t[1]:.1%} (loss {t[0]:.3f})" if (t := r.recent_train()) else "")
        for r, res in zip((first, second), results))
    unknown = "One of the runs has no test accuracy (it diverged or was stopped), so there is nothing to compare."
    neither = "Neither network is clearly above chance (10%) yet, so this run cannot tell them apart. "
    short = ("A few minutes on a subset is a tiny fraction of the paper's 164 epochs on all 50,000 "
             "images, so the gap may not have opened yet: try a longer budget or a deeper pair.")
    if not first.config.residual and second.config.residual:  # plain vs residual twins
        st.markdown(
            "**What the paper found.** Plain networks get *worse* with depth: the 56-layer plain net "
            "has higher training **and** test error than the 20-layer one on CIFAR-10 (Figure 1), "
            "which is degradation, not overfitting. Residual nets get better with depth (Figure 6): "
            f"ResNet-{get_spec(second.config.model).depth} reached "
            f"{PAPER_ERROR.get(second.config.model, float('nan')):.2f}% test error, ResNet-110 6.43%."
        )
        outcome = {"second": "The residual twin is ahead, as in the paper.",
                   "first": "The plain network is ahead in this run. " + short,
                   "tie": "The two are within a point of each other. " + short,
                   "unknown": unknown, "neither": neither + short}[verdict]
    else:  # shallow vs deep, both plain or both residual
        if first.config.residual:
            st.markdown("**What the paper found.** With shortcuts, deeper is better on CIFAR-10: "
                        "ResNet-20 8.75% → ResNet-56 6.97% → ResNet-110 6.43% test error (Table 6, Figure 6).")
            outcome = {"second": "The deeper residual net is ahead, as in the paper.",
                       "first": "The shallower net is ahead here: deeper nets need longer to pull ahead. " + short,
                       "tie": "The two are within a point of each other. " + short,
                       "unknown": unknown, "neither": neither + short}[verdict]
        else:
            st.markdown("**What the paper found.** The 56-layer plain net has higher training **and** test "
                        "error than the 20-layer plain net (Figure 1): the deeper net is harder to optimise "
                        "(degradation), it is not overfitting.")
            outcome = {"first": "Your shallower plain net is ahead: the degradation the paper describes.",
                       "second": "The deeper plain net is ahead in this run. " + short,
                       "tie": "The two are within a point of each other. " + short,
                       "unknown": unknown, "neither": neither + short}[verdict]
    st.markdown(f"**What you got.** {got}. {outcome}")


if job is not None and not running:
    snap = job.snapshot()
    if snap.state == "finished":
        st.success("Training finished.")
    elif snap.state == "stopped":
        st.info("Stopped. The networks trained so far are below and can be downloaded.")
    elif snap.state == "diverged":
        st.warning(snap.message)
    elif snap.state == "failed":
        st.error(f"Training failed: {snap.message}")
        st.caption("Change the settings above (a smaller batch or learning rate, or synthetic data) and start again.")

    results: list[TrainResult] = []
    for index, run in enumerate(snap.runs):
        result = run.result
        if result is None:
            continue
        results.append(result)
        st.markdown(f"#### {run.label}: {result.status}")
        r1, r2, r3, r4, r5 = st.columns(5)
        r1.metric("Test accuracy", percent(result.test_acc))
        r2.metric("Test loss", "n/a" if result.test_loss is None else f"{result.test_loss:.3f}")
        r3.metric("Full epochs", f"{result.epochs_completed}")
        r4.metric("Training time", f"{result.train_seconds:.0f} s")
        r5.metric("Images / s", f"{result.images_per_second:,.0f}")
        st.caption(f"Test accuracy on {data_words(result)}.")
        if result.status == "diverged":
            continue  # NaN weights: nothing worth downloading or classifying with
        data = checkpoint_bytes(snap.job_id, index, result)
        d1, d2 = st.columns([1, 3])
        d1.download_button("Download checkpoint", data=data, file_name=f"{run.label.replace(' ', '-')}.pt",
                           mime="application/octet-stream", key=f"download_{index}")
        offer = f"{run.label} (trained here, {percent(result.test_acc)} test, {result.config.data})"
        # Once per run, not per rerun: rebuilding the model from bytes every second would be waste.
        offered: set[str] = st.session_state.setdefault("train_offered", set())
        run_key = f"{snap.job_id}:{index}"
        if run_key not in offered:
            try:
                ui.offer_trained_model(offer, load_checkpoint(data))
                offered.add(run_key)
            except CheckpointError as exc:
                st.error(f"Could not offer this model to Classify and Grad-CAM: {exc}")
        if run_key in offered:
            d2.caption(f"Available on the Classify and Grad-CAM pages as “{offer}”.")
    if len(snap.runs) == 2 and len(results) == 2:
        st.divider()
        paper_note(snap, results)
