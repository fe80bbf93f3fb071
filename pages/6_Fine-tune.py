"""Fine-tune page: teach a pretrained ResNet your own classes in seconds (issue #9).

The pictures live in a ``resnet_core.userdata.PictureCollection`` in session state, so reruns
and visits to other pages keep them; training runs in a ``resnet_core.jobs.FinetuneJob`` among the
server's runs (``resnet_core.jobs.RUNS``: one slot shared with the Train page, stopped when no tab
polls it, found again after a reload through ``?run=`` in the URL), and a fragment polls it. The
result is offered to Classify and Grad-CAM.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re

import streamlit as st

from resnet_core.finetune import (
    DEFAULT_EPOCHS,
    SHIPPED,
    FeatureCache,
    FinetuneConfig,
    FinetuneResult,
    backbone_from_checkpoint,
    check_backbone,
    load_backbone,
    weights_choices,
)
from resnet_core.jobs import RUNS, FinetuneJob, JobRefused
from resnet_core.images import ImageError
from resnet_core.models import get_spec
from resnet_core.pretrained import WeightsUnavailableError, is_cached, pretrained_names
from resnet_core.timm_catalog import cached_timm_names, get_timm_model, is_timm_key
from resnet_core.userdata import DEFAULT_LIMITS, DatasetError, PictureCollection, PictureSet
from webui import url
from webui.figures.finetune import confusion_figure, history_figure
from webui.locality import shown
from webui.pages import page
from webui.guide import next_link
from webui.shell import setup_page
from webui.state import offer_trained_model, run_id, select_trained_model, trained_models, watch_run
from webui.uploads import file_uploader, upload_limit_bytes, upload_limit_mb, upload_messages
from webui.widgets import UPLOAD_TYPES

setup_page("Fine-tune", "🎯")
st.title("Fine-tune")
st.caption(
    "Transfer learning: keep what a pretrained ResNet already sees, and train only a new last layer "
    "on your pictures. Name two or more classes, give each a few pictures, press Train."
)

POLL_S = 0.5  # seconds between live-view refreshes while a job runs
THUMBS = 24  # thumbnails shown per class

# --- Session state: pictures, uploads already taken in, cached features; the run --------------
# One picture, uploaded or inside a zip, is at most what the server takes in one upload.
LIMITS = dataclasses.replace(DEFAULT_LIMITS, max_file_bytes=upload_limit_bytes())
collection: PictureCollection = st.session_state.setdefault("ft_collection", PictureCollection(LIMITS))
seen_uploads: set[str] = st.session_state.setdefault("ft_seen_uploads", set())
feature_cache: FeatureCache = st.session_state.setdefault("ft_feature_cache", FeatureCache())
run = run_id("finetune", kind=FinetuneJob)  # in the URL: a reload finds the run again
watch_run(run)
job = RUNS.get(run)
running = job is not None and job.is_active


def take_in(uploads: list, add) -> None:
    """Pass each new upload (by file id) to ``add`` once: a widget returns its files every rerun."""
    for upload in uploads:
        if upload is None or upload.file_id in seen_uploads:
            continue
        seen_uploads.add(upload.file_id)
        try:
            add(upload)
        except (DatasetError, ImageError) as exc:
            st.error(f"{upload.name}: {exc}")


def add_pictures(class_name: str, upload) -> None:
    report = collection.add_files(class_name, [(upload.name, upload.getvalue())])
    for skipped in report.skipped:
        st.warning(f"{skipped.name} was skipped: {skipped.reason}.")


def add_zip(upload) -> None:
    report = collection.add_zip(upload.getvalue())
    note = f"{upload.name}: added {report.added} pictures"
    if report.duplicates:
        note += f", {report.duplicates} already there"
    st.success(note + ".")
    if report.skipped:
        listing = "; ".join(f"{s.name} ({s.reason})" for s in report.skipped[:5])
        more = f" and {len(report.skipped) - 5} more" if len(report.skipped) > 5 else ""
        st.warning(f"Skipped {len(report.skipped)} file(s) that are not usable pictures: {listing}{more}.")


# --- 1. Classes and pictures -----------------------------------------------------------------
st.subheader("1. Your classes")
left, right = st.columns(2, gap="large")
with left:
    with st.form("ft_new_class", clear_on_submit=True, border=False):
        name = st.text_input("New class", placeholder="e.g. mug", key="ft_class_name")
        if st.form_submit_button("Add class", disabled=running):
            try:
                collection.add_class(name)
            except DatasetError as exc:
                st.error(str(exc))
with right:
    zips = file_uploader(
        f"Or a zip of class folders (one folder per class; at most {upload_limit_mb()} MB, "
        f"{LIMITS.max_files:,} files and {LIMITS.max_total_bytes // 2**20} MB unpacked)",
        type=["zip"], key="ft_zip", disabled=running,
    )
    with upload_messages("ft_zip"):  # right under its uploader: hidden while it shows a refused file
        take_in([zips], add_zip)

if not collection.classes:
    st.info("No classes yet: add two (for example 'mug' and 'banana'), or upload a zip of class folders.")

for index, class_name in enumerate(collection.classes):
    with st.container(border=True):
        head, remove = st.columns([5, 1])
        remove.button("Remove class", key=f"ft_remove_{index}", disabled=running,
                      on_click=collection.remove_class, args=(class_name,))
        uploads = file_uploader(
            f"Add pictures of {class_name}", type=UPLOAD_TYPES, accept_multiple_files=True,
            key=f"ft_upload_{class_name}", disabled=running,
        )
        with upload_messages(f"ft_upload_{class_name}"):
            take_in(uploads or [], functools.partial(add_pictures, class_name))
        if st.toggle("Use the camera", key=f"ft_camera_on_{class_name}", disabled=running):
            photo = st.camera_input(f"Take a picture of {class_name}", key=f"ft_camera_{class_name}")
            take_in([photo], functools.partial(add_pictures, class_name))
        # Counted after the uploads above were taken in; the heading's column sits above them.
        pictures = collection.pictures(class_name)
        head.markdown(f"**{class_name}** · {len(pictures)} picture{'s' if len(pictures) != 1 else ''}")
        if pictures:
            st.image([p.image for p in pictures[:THUMBS]], width=72)
            if len(pictures) > THUMBS:
                st.caption(f"... and {len(pictures) - THUMBS} more")

try:
    dataset: PictureSet | None = collection.to_picture_set()
except DatasetError as exc:
    dataset = None
    if collection.classes:
        st.info(str(exc))

# --- 2. Backbone, mode, start ----------------------------------------------------------------
st.subheader("2. Train")
trained = trained_models()
# timm backbones (issue 22): the ones in the Hugging Face cache; `python -m resnet_core info` lists the rest.
options = [SHIPPED, *(f"trained:{label}" for label in trained), *pretrained_names(),
           *(get_timm_model(n).key for n in cached_timm_names())]


def describe(option: str) -> str:
    if option == SHIPPED:
        return "CIFAR-10 model shipped with the app (works offline, 32x32 pictures)"
    if option.startswith("trained:"):
        return f"Trained this session: {option.split(':', 1)[1]}"
    if is_timm_key(option):
        return f"{get_timm_model(option).label} (downloaded, 224x224 pictures)"
    state = "downloaded" if is_cached(option) else "not downloaded"
    return f"ImageNet ResNet-{get_spec(option).depth} ({state}, 224x224 pictures)"


c1, c2, c3 = st.columns([2, 2, 1])
url.bind("backbone", "ft_backbone", options[0], choices=options, what="a backbone")
backbone_key = c1.selectbox("Backbone", options, format_func=describe, key="ft_backbone", disabled=running)
weights = "V1"
if backbone_key in pretrained_names() and len(weights_choices(backbone_key)) > 1:
    weights = c1.radio("ImageNet weights", weights_choices(backbone_key), horizontal=True, key="ft_weights",
                       help="torchvision's IMAGENET1K_V1 (the original recipe) or V2 (a newer, longer one)")
url.bind("mode", "ft_mode", "linear", choices=["linear", "last-stage"], what="linear or last-stage")
mode = c2.radio("What trains", ["linear", "last-stage"], key="ft_mode", disabled=running,
                format_func={"linear": "Only a new last layer (linear probe: seconds)",
                             "last-stage": "The last stage too (slower, with augmentation)"}.get)
epochs = c3.number_input("Epochs", 1, 500, DEFAULT_EPOCHS[mode], key=f"ft_epochs_{mode}", disabled=running)
val_fraction = c3.slider("Held out", 0.1, 0.5, 0.2, 0.05, key="ft_val_fraction", disabled=running,
                         help="Share of each class kept out of training to measure accuracy on")

backbone_problem = None
if backbone_key.startswith("trained:"):
    label = backbone_key.split(":", 1)[1]
    loader = functools.partial(backbone_from_checkpoint, trained[label], label=label)
else:
    try:
        check_backbone(backbone_key, weights)
    except (WeightsUnavailableError, ValueError) as exc:
        backbone_problem = str(exc)
        st.warning(shown(backbone_problem))
    loader = functools.partial(load_backbone, backbone_key, weights)


def start_job(pictures: PictureSet, config: FinetuneConfig) -> None:
    """Train button callback: runs before the rerun, so the page draws the new state at once."""
    try:
        RUNS.start(run, FinetuneJob(pictures, loader, config, cache=feature_cache, session_id=run).start)
        st.session_state.pop("ft_notice", None)
    except JobRefused as exc:  # the slot went to another visitor since the page was drawn
        st.session_state["ft_notice"] = str(exc)


b1, b2, _ = st.columns([1, 1, 5])
config = FinetuneConfig(mode=mode, epochs=int(epochs), val_fraction=float(val_fraction))
slot = RUNS.availability()
b1.button("Train", type="primary", key="ft_train",
          disabled=running or dataset is None or backbone_problem is not None or not slot.free,
          on_click=start_job, args=(dataset, config))
b2.button("Stop", key="ft_stop", disabled=not running, on_click=RUNS.stop, args=(run,))
if not running and not slot.free:
    st.info(slot.busy_message())  # at once, not after a click on Train

    @st.fragment(run_every=5.0)
    def wait_for_slot() -> None:
        if RUNS.availability().free:
            st.rerun()  # the whole page: Train becomes clickable

    wait_for_slot()
elif notice := st.session_state.get("ft_notice"):
    st.warning(notice)
if not running and RUNS.abandoned(run):
    st.info(f"This fine-tune was stopped because no browser tab watched it for {RUNS.abandon_s:.0f} s.")


# --- 3. Live view ----------------------------------------------------------------------------
@st.fragment(run_every=POLL_S if running else None)
def live_view(was_running: bool) -> None:
    watch_run(run)  # heartbeat: a run no tab polls stops after $RESNET_ABANDON_S
    current = RUNS.get(run)
    if current is None:
        return
    snap = current.snapshot()
    if was_running and snap.finished:
        st.rerun()  # the whole page: results, enabled widgets
    if not snap.finished:
        st.progress(snap.fraction, text=snap.message)
    if snap.history:
        st.plotly_chart(history_figure(snap.history), key="ft_history", width="stretch")


if job is not None:
    live_view(running)


# --- 4. Results ------------------------------------------------------------------------------
def checkpoint_bytes(job_id: str, result: FinetuneResult) -> bytes:
    """The checkpoint, serialised once per job and kept in the session."""
    key = f"ft_checkpoint_{job_id}"
    if key not in st.session_state:
        buffer = io.BytesIO()
        result.save(buffer)
        st.session_state[key] = buffer.getvalue()
    return st.session_state[key]


if job is not None and not running:
    snap = job.snapshot()
    result = snap.result
    if snap.state == "failed":
        st.error(shown(f"Fine-tuning failed: {snap.message}"))
    elif snap.state == "stopped" and result is None:
        st.info("Stopped before the first epoch: there is no model.")
    if result is not None:
        st.subheader("3. Result" + (" (stopped early)" if result.stopped else ""))
        m1, m2, m3, m4, m5 = st.columns(5)
        m1.metric("Held-out accuracy", f"{result.val_acc:.0%}")
        m2.metric("Trained on", f"{result.train_images} pictures")
        m3.metric("Held out", f"{result.val_images} pictures")
        m4.metric("Time", f"{result.seconds:.1f} s")
        m5.metric("Backbone features", f"{result.feature_seconds:.1f} s",
                  help=f"{result.cached_features} of {result.train_images + result.val_images} pictures came "
                  "from the cache of an earlier run")
        st.caption(
            f"{result.backbone.label}, pretrained on {result.backbone.pretrained_on}. Accuracy is measured on "
            f"the {result.val_images} pictures held out of training; with this few, each one is "
            f"{1 / max(result.val_images, 1):.0%} of it."
        )
        st.plotly_chart(confusion_figure(result), key="ft_confusion", width="stretch")
        stem = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(result.classes)).strip("-")[:60] or "model"
        d1, d2 = st.columns([1, 3])
        d1.download_button("Download model", data=checkpoint_bytes(job.job_id, result),
                           file_name=f"finetuned-{stem}.pt", mime="application/octet-stream", key="ft_download")
        label = (f"Fine-tuned: {', '.join(result.classes)} ({result.val_acc:.0%} on held-out pictures, "
                 f"{result.backbone.model_name})")
        offered: set[str] = st.session_state.setdefault("ft_offered", set())
        if job.job_id not in offered:
            offer_trained_model(label, result.to_checkpoint())
            offered.add(job.job_id)
        d2.caption(f"Available on the Classify and Grad-CAM pages as “{label}”.")
        if not collection.classes:  # a reload: the run came back through ?run=, the pictures did not
            st.caption("The pictures of this run were added before the page was reloaded and are not kept: "
                       "add them again to train another model.")
        # Buttons, not links: each opens its page with this model already picked.
        for target, key, text in (("Classify", "classify", "Classify a new picture with it"),
                                  ("Grad-CAM", "gradcam", "See where it looks (Grad-CAM)")):
            if st.button(text, icon=page(target).icon, key=f"ft_open_{key}"):
                select_trained_model(key, label)
                st.switch_page(page(target).path)

next_link()
