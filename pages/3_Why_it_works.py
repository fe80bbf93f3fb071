"""Why it works: five small experiments that show why the shortcut helps, each in seconds (issue 8).

The experiments are ``resnet_core.insight.specs.EXPERIMENTS``; one render function each: widgets,
one call into ``resnet_core.insight`` (cached: results depend only on the inputs), the figures from
``webui.figures.insight``, and the sentences the experiment's verdict writes from the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from resnet_core import jobs
from resnet_core.checkpoint import Checkpoint, CheckpointError
from resnet_core.data import ImageDataset
from resnet_core.environment import find_cifar10_dir
from resnet_core.insight.nets import QUICK, SCALES, InsightError, paper_depths, scale_words
from resnet_core.insight.probe import Probe, eval_split, make_probe
from resnet_core.insight.results import LandscapeResult, LesionResult, ResponsesResult
from resnet_core.insight.runs import by_label
from resnet_core.insight.specs import EXPERIMENTS, ExperimentSpec
from resnet_core.insight import trained as race_nets  # the shipped race nets: load, check, describe
from webui import url
from webui.figures import insight as charts
from webui.guide import next_link
from webui.shell import setup_page
from webui.locality import shown
from webui.presenter import presenting
from webui.state import run_id, trained_models, watch_run

setup_page("Why it works", "💡")
st.title("Why the shortcut works")
st.markdown(
    "Training shows *that* residual networks learn where plain ones stall. These five experiments show "
    "*why*, each in a few seconds on a CPU: how the gradient reaches every layer, how smooth it is, what "
    "happens when a block is cut out, how hard each layer works, and the shape of the loss around the "
    "trained weights. Plain nets are red, residual nets blue; every sentence under a chart is computed "
    "from its numbers."
)

PROBE_BATCH = 128  # images per probe batch for the experiments at initialisation
RESPONSE_IMAGES = 500
SLICE_IMAGES, SLICE_POINTS = 256, 17
TITLES = {name: f"{i} · {spec.title}" for i, (name, spec) in enumerate(EXPERIMENTS.items(), start=1)}
url.bind("exp", "why_experiment", next(iter(TITLES)), choices=list(TITLES), what="an experiment")
experiment = st.radio("Experiment", list(TITLES), format_func=TITLES.__getitem__, horizontal=True,
                      key="why_experiment", label_visibility="collapsed")


# --- Data and cached results --------------------------------------------------------------------
# One copy of the test images per server process, read-only; every result below is cached by its
# inputs (a trained net by the hash of its weights), so moving back to a setting is instant.


@st.cache_resource(show_spinner="Reading the test images…")
def test_images(cifar_dir: str | None) -> ImageDataset:
    """CIFAR-10's test split when found (``cifar_dir``), else synthetic shapes."""
    return eval_split(cifar_dir, synthetic=cifar_dir is None)


def cifar_dir() -> str | None:
    found = find_cifar10_dir()
    return str(found) if found is not None else None


@st.cache_data(show_spinner=False, max_entries=128)
def fresh_nets_result(name: str, depths: tuple[int, ...], kinds: tuple[bool, ...], seed: int, scale: str,
                      data: str | None) -> tuple[list[Any], str]:
    """Experiment ``name`` on fresh nets: one result per net, and where the probe images came from."""
    probe = make_probe(test_images(data), PROBE_BATCH, input_size=SCALES[scale].resolution, seed=seed)
    return EXPERIMENTS[name].run(depths, probe, scale=SCALES[scale], seed=seed, kinds=kinds), probe.source


def probe_for(ckpt: Checkpoint, n: int, seed: int) -> Probe:
    """Test images the way ``ckpt`` saw its data: its size, its normalisation, CIFAR-10 or shapes."""
    data = None if race_nets.trained_on_synthetic(ckpt) else cifar_dir()
    dataset = test_images(data)
    return make_probe(dataset, min(n, len(dataset)), input_size=ckpt.input_size, seed=seed,
                      mean=ckpt.mean, std=ckpt.std)


@st.cache_data(show_spinner=False, max_entries=32)
def lesion_result(key: str, _ckpt: Checkpoint, images: int, seed: int, data: str | None) -> LesionResult:
    # One random draw per count and fewer counts than the CLI's (3 draws): the page stays at seconds.
    return EXPERIMENTS["lesion"].run(_ckpt, probe_for(_ckpt, images, seed), seed=seed, trials=1, steps=5)


@st.cache_data(show_spinner=False, max_entries=32)
def responses_result(key: str, _ckpt: Checkpoint, data: str | None) -> ResponsesResult:
    return EXPERIMENTS["responses"].run(_ckpt, probe_for(_ckpt, RESPONSE_IMAGES, 0))


@st.cache_data(show_spinner=False, max_entries=32)
def landscape_result(key: str, _ckpt: Checkpoint, seed: int, data: str | None) -> LandscapeResult:
    return EXPERIMENTS["landscape"].run(_ckpt, probe_for(_ckpt, SLICE_IMAGES, 0), seed=seed, points=SLICE_POINTS)


@st.cache_resource(show_spinner="Loading the trained networks…")
def shipped_net(label: str, directory: str) -> Checkpoint:
    """A shipped trained net, shared read-only by every session (the experiments never modify it)."""
    return race_nets.load_race_net(label, directory)


# --- Heavy settings: a job under the server's slot, polled (issue #19) ---------------------------
# The paper scale and big lesion studies take tens of seconds on 2 cores (jobs/insight.py says
# which): they run as an InsightJob among the server's runs, one at a time with the trainings, and
# this session keeps their results. Everything else stays in the page, cached.
_HEAVY_RESULTS = "why_heavy_results"
_HEAVY_KEPT = 8  # results per session: a few settings to go back to, not an unbounded pile


def start_heavy(sid: str, key: tuple, compute: Callable[[Callable[[str], None]], Any], steps: int) -> None:
    """Run button callback: start the experiment as a job, or say why not."""
    try:
        jobs.RUNS.start(sid, jobs.InsightJob(key, compute, steps=steps).start)
        st.session_state.pop("why_notice", None)
    except jobs.JobRefused as exc:
        st.session_state["why_notice"] = str(exc)


def heavy_result(key: tuple, compute: Callable[[Callable[[str], None]], Any], steps: int = 0) -> Any | None:
    """The result of a heavy experiment once its job has run; until then the Run button or its progress."""
    kept: dict[tuple, Any] = st.session_state.setdefault(_HEAVY_RESULTS, {})
    if key in kept:
        return kept[key]
    sid = run_id("why", kind=jobs.InsightJob)
    watch_run(sid)
    job = jobs.RUNS.get(sid)
    snap = job.snapshot() if isinstance(job, jobs.InsightJob) else None
    if snap is not None and snap.key == key and snap.state == "finished":
        kept[key] = snap.result
        while len(kept) > _HEAVY_KEPT:
            kept.pop(next(iter(kept)))
        return snap.result
    if snap is not None and not snap.finished:

        @st.fragment(run_every=1.0)
        def poll() -> None:
            jobs.RUNS.touch(sid)
            now = job.snapshot()
            if now.finished:
                st.rerun()  # the whole page draws the result
            st.progress(now.fraction, text=f"{now.message} ({jobs.format_duration(now.eta_s)} left)")
            st.button("Stop", key="why_stop", on_click=jobs.RUNS.stop, args=(sid,))

        poll()
        if snap.key != key:
            st.info("Your previous setting is still running: stop it to run this one.")
        return None
    if snap is not None and snap.key == key and snap.state == "failed":
        st.error(shown(f"The experiment failed: {snap.message}"))
    elif snap is not None and snap.key == key:
        st.info(snap.message.capitalize() + ".")
    st.info("This setting takes longer than a few seconds, so it runs in the background, one run at a time on "
            "this server with the trainings. The quick scale and a few hundred images stay instant.")
    slot = jobs.RUNS.availability()
    st.button("Run", key="why_run", type="primary", disabled=not slot.free, on_click=start_heavy,
              args=(sid, key, compute, steps))
    if not slot.free:
        st.info(slot.busy_message())
    elif notice := st.session_state.get("why_notice"):
        st.warning(notice)
    return None


# --- Controls shared by the experiments ----------------------------------------------------------


def untrained_controls() -> tuple[tuple[int, ...], tuple[bool, ...], int, str]:
    """Depths, plain/residual, seed and scale for the experiments on fresh nets; the same widgets
    (same keys and arguments) in both, so a choice carries over from one experiment to the other."""
    c1, c2, c3, c4 = st.columns([3, 2, 1, 2])
    depths = c1.multiselect("Depths", paper_depths(), default=[20, 56, 110], key="why_depths",
                            help="The paper's 6n+2 CIFAR networks (section 4.2): three stages of n blocks of two 3x3 "
                            "convolutions, plus the first convolution and the last layer, 6n+2 layers in all.")
    url.bind_many("nets", "why_kinds", ["plain", "residual"], choices=["plain", "residual"], what="plain or residual")
    kinds = c2.multiselect("Networks", ["plain", "residual"], key="why_kinds")
    seed = int(c3.number_input("Seed", min_value=0, max_value=10_000, value=0, key="why_seed",
                               help="Initial weights and which test images are used."))
    scale = c4.radio("Scale", list(SCALES), key="why_scale", horizontal=True,
                     format_func=lambda s: "quick" if s == "quick" else "paper (slower)",
                     help=f"quick: {scale_words(QUICK)}, as the shipped trained nets; "
                     f"paper: {scale_words(SCALES['paper'])}.")
    return tuple(sorted(depths)), tuple(k == "residual" for k in ("plain", "residual") if k in kinds), seed, scale


def available_nets() -> dict[str, tuple[Checkpoint, str]]:
    """Trained nets to offer: the shipped race nets that are here, then those trained this session."""
    nets: dict[str, tuple[Checkpoint, str]] = {}
    directory = str(race_nets.race_dir())
    for net in race_nets.RACE_NETS:
        try:
            ckpt = shipped_net(net.label, directory)
        except race_nets.TrainedNetMissing:
            continue
        except CheckpointError as exc:  # damaged, or from another version
            st.error(shown(f"The shipped {net.title} cannot be loaded: {exc}"))
            continue
        nets[f"{net.title} (shipped)"] = (ckpt, race_nets.fingerprint(ckpt))
    for label, ckpt in trained_models().items():
        nets[f"{label} (trained this session)"] = (ckpt, race_nets.fingerprint(ckpt))
    return nets


def explain_missing(nets: dict[str, Any]) -> None:
    missing = race_nets.missing_race_nets()
    if missing:
        names = ", ".join(p.name for p in missing)
        st.warning(shown(
            f"The trained networks that ship with the app are not all in this install: {names} missing from "
            f"`{race_nets.race_dir()}`. They are the degradation race's quick-scale nets ({scale_words(QUICK)})"
            + ("" if presenting() else ", trained with `python -m resnet_core experiment degradation`") + ". "
            + ("Meanwhile, train a plain and a residual network on the Train page: they appear here."
               if not nets else "The networks below are the ones available.")
        ))


def pick_pair(name: str, nets: dict[str, tuple[Checkpoint, str]]) -> list[tuple[str, Checkpoint, str]]:
    """A plain net and a residual net (defaults: plain-56 and ResNet-56), side by side."""
    chosen = []
    cols = st.columns(2)
    for col, residual, default in ((cols[0], False, "plain-56 (shipped)"), (cols[1], True, "ResNet-56 (shipped)")):
        options = [label for label, (ckpt, _) in nets.items() if ckpt.residual == residual]
        kind = "residual" if residual else "plain"
        if not options:
            col.info(f"No trained {kind} network here yet: train one on the Train page.")
            continue
        label = col.selectbox(f"{kind.capitalize()} network", options, key=f"{name}_{kind}",
                              index=options.index(default) if default in options else 0)
        ckpt, key = nets[label]
        col.caption(race_nets.describe(ckpt))
        chosen.append((label.removesuffix(" (shipped)"), ckpt, key))
    return chosen


def note_data(ckpts: list[Checkpoint]) -> None:
    if any(not race_nets.trained_on_synthetic(c) for c in ckpts) and cifar_dir() is None:
        st.warning("CIFAR-10 is not on this machine, so these CIFAR-10 networks are scored on synthetic shapes "
                   "they never saw: accuracies near chance, and the comparison says little. Set RESNET_DATA_DIR.")


def say(lines: list[str]) -> None:
    st.markdown("\n".join(f"- {line}" for line in lines))


def reference(text: str) -> None:
    st.caption(f"**Reference:** {text}")


def introduce(heading: str, text: str) -> None:
    st.subheader(heading)
    st.markdown(text)


def trained_nets(heading: str, text: str) -> dict[str, tuple[Checkpoint, str]]:
    """The trained nets on offer, under the experiment's heading and text, with a word on any missing."""
    nets = available_nets()
    introduce(heading, text)
    explain_missing(nets)
    return nets


def fresh_runs(spec: ExperimentSpec, heading: str, text: str,
               spinner: str) -> tuple[list[Any], tuple[bool, ...], str, str] | None:
    """The experiment's heading and text, the controls, then ``spec`` on fresh nets: its results, the
    kinds, the data source and the scale; None (after a hint) until a depth and a kind are picked."""
    introduce(heading, text)
    depths, kinds, seed, scale = untrained_controls()
    if not depths or not kinds:
        st.info("Pick at least one depth and one kind of network.")
        return None
    data = cifar_dir()
    if jobs.is_heavy(spec.name, scale=scale):
        probe = make_probe(test_images(data), PROBE_BATCH, input_size=SCALES[scale].resolution, seed=seed)

        def compute(progress: Callable[[str], None]) -> tuple[list[Any], str]:
            return spec.run(depths, probe, scale=SCALES[scale], seed=seed, kinds=kinds, progress=progress), probe.source

        found = heavy_result((spec.name, depths, kinds, seed, scale, data), compute, steps=len(depths) * len(kinds))
        if found is None:
            return None
        runs, source = found
    else:
        with st.spinner(spinner):
            runs, source = fresh_nets_result(spec.name, depths, kinds, seed, scale, data)
    return runs, kinds, source, scale


# --- 1. Gradient flow ----------------------------------------------------------------------------
def render_gradient_flow(spec: ExperimentSpec) -> None:
    found = fresh_runs(
        spec,
        "Gradient flow at initialisation",
        "Before any training, one batch of test images goes through each network with batch norm in "
        "training mode, as in the first step of training. For every conv layer we measure its gradient "
        "relative to its weights, ‖∂L/∂W‖ / ‖W‖: ‖∂L/∂W‖ is the size of the gradient of the loss L with "
        "respect to the layer's weights W, ‖W‖ the size of the weights, so the ratio says how far one step of "
        "SGD would move that layer. Input on the left, output on the right, on a log scale.",
        "Measuring gradients…",
    )
    if found is not None:
        runs, kinds, source, scale = found
        y_range = charts.gradient_range(runs)
        for col, residual in zip(st.columns(len(kinds)), kinds):
            col.plotly_chart(charts.gradient_flow_figure(runs, residual, y_range=y_range),
                             key=f"gradient_{residual}", width="stretch")
        say(spec.verdict(by_label(runs)))
        st.caption(f"An order of magnitude is a factor of ten. Data: {source}. Networks: {scale_words(SCALES[scale])}.")
    reference("He et al., *Deep Residual Learning for Image Recognition* (2015), section 4.1: the plain nets' "
              "trouble is 'unlikely to be caused by vanishing gradients', since batch norm keeps signals alive.")


# --- 2. Shattered gradients ----------------------------------------------------------------------
def render_shattered(spec: ExperimentSpec) -> None:
    found = fresh_runs(
        spec,
        "Shattered gradients",
        "Blend one test image into another in 256 small steps and take, at every step, the derivative of the "
        "network's score for the first image's class along that line. A useful gradient changes smoothly "
        "from one step to the next; a *shattered* one jumps about like white noise, and then a gradient step "
        "learnt at one image says nothing about its neighbours. The number is the correlation between "
        "neighbouring steps: 1 smooth, 0 white noise. Fresh networks, batch norm using the batch's statistics.",
        "Walking along the line…",
    )
    if found is not None:
        runs, kinds, source, scale = found
        for col, residual in zip(st.columns(len(kinds)), kinds):
            col.plotly_chart(charts.line_gradient_figure(runs, residual), key=f"line_{residual}", width="stretch")
        left, right = st.columns([2, 3])
        left.plotly_chart(charts.autocorrelation_figure(runs), key="autocorrelation", width="stretch")
        with right:
            say(spec.verdict(by_label(runs)))
            st.caption(f"Each curve is scaled to its own largest value (deep plain nets' gradients are far larger). "
                       f"Data: {source}. Networks: {scale_words(SCALES[scale])}.")
    reference("Balduzzi et al., *The Shattered Gradients Problem: If resnets are the answer, then what is the "
              "question?* (ICML 2017): plain nets' gradient correlations decay exponentially with depth, residual "
              "nets' sublinearly.")


# --- 3-5. Experiments on trained networks ---------------------------------------------------------
def render_lesion(spec: ExperimentSpec) -> None:
    nets = trained_nets(
        "Lesion study: cut one block out",
        "Delete one block of a trained network at test time and score it again. In a residual net the "
        "block's branch goes and its shortcut stays; a plain block is replaced by the identity (where a "
        "stage halves the resolution and widens, a plain block cannot be removed: hatched bars marked 'kept'). If the net "
        "were one long chain, every deletion would be fatal.",
    )
    pair = pick_pair("lesion", nets)
    c1, c2 = st.columns(2)
    images = int(c1.select_slider("Test images", [250, 500, 1000, 2000], value=250, key="lesion_images",
                                  help="More images, steadier numbers, longer wait (about 1 s per 100 on 2 cores)."))
    seed = int(c2.number_input("Seed", min_value=0, max_value=10_000, value=0, key="lesion_seed",
                               help="Which test images, and which blocks the multi-block deletions draw."))
    if pair:
        note_data([c for _, c, _ in pair])
        results: list[tuple[str, LesionResult]] = []
        try:
            if jobs.is_heavy("lesion", images=images):
                probes = [(label, ckpt, probe_for(ckpt, images, seed)) for label, ckpt, _ in pair]

                def compute(progress: Callable[[str], None]) -> list[tuple[str, LesionResult]]:
                    return [(label, spec.run(ckpt, probe, seed=seed, trials=1, steps=5, progress=progress))
                            for label, ckpt, probe in probes]

                results = heavy_result(("lesion", tuple(k for _, _, k in pair), images, seed, cifar_dir()),
                                       compute) or []
            else:
                with st.spinner("Deleting blocks one at a time…"):
                    for label, ckpt, key in pair:
                        results.append((label, lesion_result(key, ckpt, images, seed, cifar_dir())))
        except InsightError as exc:
            st.warning(str(exc))
        if results:
            for col, (label, run) in zip(st.columns(len(results)), results):
                col.plotly_chart(charts.lesion_blocks_figure(run, label), key=f"lesion_{run.residual}",
                                 width="stretch")
            left, right = st.columns([3, 2])
            left.plotly_chart(charts.lesion_multi_figure(results), key="lesion_multi", width="stretch")
            with right:
                if len(results) == 2:
                    say(spec.verdict(dict(results)))
                st.caption(f"{results[0][1].images:,} test images; several blocks: one random draw "
                           "per count (the CLI averages three).")
    reference("Veit, Wilber and Belongie, *Residual Networks Behave Like Ensembles of Relatively Shallow "
              "Networks* (NeurIPS 2016), Figures 3 and 5.")


def render_responses(spec: ExperimentSpec) -> None:
    nets = trained_nets(
        "Layer responses",
        "The standard deviation of each 3x3 layer's output (after batch norm, before the ReLU and the "
        "shortcut addition) over 500 test images. The residual formulation hopes each block only needs "
        "to nudge its input, so its response should be small.",
    )
    default = [label for label in nets if label.endswith("(shipped)")] or list(nets)[:2]
    url.bind_many("nets", "responses_nets", default, choices=list(nets), what="a trained network here")
    chosen = st.multiselect("Networks", list(nets), key="responses_nets")
    if chosen:
        note_data([nets[label][0] for label in chosen])
        with st.spinner("Recording responses…"):
            results = [(label.removesuffix(" (shipped)"), responses_result(nets[label][1], nets[label][0],
                                                                            cifar_dir()))
                       for label in chosen]
        left, right = st.columns(2)
        left.plotly_chart(charts.responses_figure(results, sort=False), key="responses_order", width="stretch")
        right.plotly_chart(charts.responses_figure(results, sort=True), key="responses_sorted", width="stretch")
        say(spec.verdict(dict(results)))
    reference("He et al., *Deep Residual Learning for Image Recognition* (2015), section 4.2 and Figure 7.")


def render_landscape(spec: ExperimentSpec) -> None:
    nets = trained_nets(
        "Loss landscape: a slice through the trained weights",
        "Step away from a trained network's weights along one random direction and watch the test loss. "
        "Batch norm makes a net blind to each filter's scale, so the direction is *filter-normalised*: "
        "every filter of it is as large as the same filter of the trained weights, and α = 1 moves each "
        "filter by its own size. A smooth valley with the trained weights at its floor is easy for SGD to "
        "descend; a bumpy, chaotic surface is not.",
    )
    pair = pick_pair("landscape", nets)
    seed = int(st.number_input("Direction seed", min_value=0, max_value=10_000, value=0, key="landscape_seed"))
    if pair:
        note_data([c for _, c, _ in pair])
        with st.spinner("Evaluating along the slice…"):
            slices = [(label, landscape_result(key, ckpt, seed, cifar_dir())) for label, ckpt, key in pair]
        left, right = st.columns(2)
        left.plotly_chart(charts.landscape_figure(slices, "loss"), key="landscape_loss", width="stretch")
        right.plotly_chart(charts.landscape_figure(slices, "acc"), key="landscape_acc", width="stretch")
        say(spec.verdict(dict(slices)))
        st.caption(f"Rings mark the local minima the sentences count: a net that learnt little lies on a high "
                   f"plateau that looks flat and is bumpy. {SLICE_IMAGES} test images, {SLICE_POINTS} points; BN "
                   "statistics and parameters held fixed, as in the paper.")
    reference("Li, Xu, Taylor, Studer and Goldstein, *Visualizing the Loss Landscape of Neural Nets* "
              "(NeurIPS 2018), section 4 and Figure 5.")


RENDER: dict[str, Callable[[ExperimentSpec], None]] = {
    "gradient-flow": render_gradient_flow,
    "shattered": render_shattered,
    "lesion": render_lesion,
    "responses": render_responses,
    "landscape": render_landscape,
}
RENDER[experiment](EXPERIMENTS[experiment])

next_link()
