"""Grad-CAM and friends: known answers, one forward pass, clean hooks, untouched models, threads."""

from __future__ import annotations

import copy
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_core.cam import METHODS, ActivationCapture, compute_cam, compute_cams, stage_layers
from resnet_core.models import create_model, list_models


def all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return create_model("resnet18").eval()


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(3, 3, 96, 96)


class TinyNet(nn.Module):
    """The 2-channel, 2x2 activation is the input itself; the head is linear, so d score/dA = V."""

    def __init__(self) -> None:
        super().__init__()
        self.feat = nn.Identity()
        self.head = nn.Linear(8, 2, bias=False)
        with torch.no_grad():
            self.head.weight.zero_()
            # Class 0's gradient, channel by channel (row-major 2x2).
            self.head.weight[0] = torch.tensor([1.0, -1, 2, 0, 0, 1, 1, 1])
            self.head.weight[1] = 0.1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.feat(x).flatten(1))


# A0 = [[1, 2], [0, 1]], A1 = [[0, 1], [3, 0]]; g0 = [[1, -1], [2, 0]], g1 = [[0, 1], [1, 1]].
# Worked by hand from each paper's formula (sum_ab A = 4 for both channels):
HAND = {
    # w = mean g = (0.5, 0.75): 0.5 A0 + 0.75 A1
    "gradcam": [[0.5, 1.75], [2.25, 0.5]],
    # alpha = g^2 / (2g^2 + 4g^3): w0 = 1/6*1 + 0.1*2, w1 = 3 * 1/6
    "gradcam++": [[11 / 30, 11 / 15 + 0.5], [1.5, 11 / 30]],
    # w = sum(gA)/sum(A) = (-1/4, 1): ReLU(-A0/4 + A1)
    "xgradcam": [[0.0, 0.5], [3.0, 0.0]],
    # ReLU(g) * A summed over channels
    "layercam": [[1.0, 1.0], [3.0, 0.0]],
}


@pytest.mark.parametrize("method", METHODS)
def test_tiny_network_matches_the_hand_computation(method: str) -> None:
    a = torch.tensor([[[[1.0, 2], [0, 1]], [[0, 1], [3, 0]]]])
    result = compute_cams(TinyNet(), a, ["feat"], [method], targets=[0])
    cam = result[("feat", method)]
    expected = torch.tensor(HAND[method])
    assert torch.allclose(cam.raw[0], expected, atol=1e-5), cam.raw[0]
    # The 2x2 input is also the output size, so the map is the raw map scaled to [0, 1].
    assert torch.allclose(cam.map[0], (expected - expected.min()) / (expected.max() - expected.min()), atol=1e-5)
    assert cam.feature_size == (2, 2) and cam.warning is not None  # 2x2 is flagged as coarse


def test_gradcam_at_the_last_stage_equals_the_class_weights_times_the_features(resnet18, batch) -> None:
    """layer4 -> global average pool -> fc, so d y_c / dA_kij = W_ck / (HW) at every position:
    raw Grad-CAM is ReLU(W_c . A_ij) / (HW) (the CAM of Zhou et al. 2016, scaled)."""
    targets = [3, 141, 999]
    cam = compute_cams(resnet18, batch, ["layer4"], ["gradcam"], targets)[("layer4", "gradcam")]
    with torch.no_grad():
        feats = resnet18.forward_features(batch)  # (B, 512, 3, 3)
    hw = feats.shape[-2] * feats.shape[-1]
    w = resnet18.fc.weight[targets]  # (B, 512)
    expected = torch.relu(torch.einsum("bk,bkij->bij", w, feats)) / hw
    assert cam.raw.shape == expected.shape == (3, 3, 3)
    assert torch.allclose(cam.raw, expected, rtol=1e-4, atol=1e-6)
    assert cam.map.shape == (3, 96, 96)


@pytest.mark.parametrize("method", METHODS)
def test_maps_are_at_input_size_in_unit_range_and_are_bilinear_upsamples(resnet18, batch, method) -> None:
    cam = compute_cams(resnet18, batch, ["layer3"], [method])[("layer3", method)]
    assert cam.map.shape == (3, 96, 96)
    for b in range(3):
        if cam.blank[b]:
            assert cam.map[b].abs().max() == 0
            continue
        assert cam.map[b].min().item() == pytest.approx(0.0, abs=1e-6)
        assert cam.map[b].max().item() == pytest.approx(1.0, abs=1e-5)
        up = F.interpolate(cam.raw[b][None, None], size=(96, 96), mode="bilinear", align_corners=False)[0, 0]
        assert torch.allclose(cam.map[b], (up - up.min()) / (up.max() - up.min()), atol=1e-5)


def test_batch_with_different_targets_equals_one_image_at_a_time(resnet18, batch) -> None:
    targets = [7, 250, 3]
    together = compute_cams(resnet18, batch, ["layer3", "layer4"], METHODS, targets)
    for b, t in enumerate(targets):
        alone = compute_cams(resnet18, batch[b : b + 1], ["layer3", "layer4"], METHODS, [t])
        for key, cam in together.maps.items():
            assert torch.allclose(cam.map[b], alone[key].map[0], atol=1e-5), (key, b)
            assert torch.allclose(cam.raw[b], alone[key].raw[0], rtol=1e-4, atol=1e-7), (key, b)
    # Different classes give different maps for the same image.
    other = compute_cam(resnet18, batch, "layer4", "gradcam", targets=[8, 9, 10])
    assert not torch.allclose(other, together[("layer4", "gradcam")].map, atol=1e-3)


def test_no_targets_means_each_images_top_prediction(resnet18, batch) -> None:
    result = compute_cams(resnet18, batch, ["layer4"])
    with torch.no_grad():
        top = resnet18(batch).argmax(1).tolist()
    assert list(result.targets) == top
    assert torch.allclose(result.logits, resnet18(batch).detach(), atol=1e-4)
    explicit = compute_cam(resnet18, batch, "layer4", targets=top)
    assert torch.allclose(result[("layer4", "gradcam")].map, explicit, atol=1e-6)


def test_all_stages_and_methods_come_from_one_forward_pass(resnet18, batch) -> None:
    calls = []
    handle = resnet18.conv1.register_forward_pre_hook(lambda m, i: calls.append(1))
    try:
        layers = stage_layers(resnet18)
        result = compute_cams(resnet18, batch, layers, METHODS, [1, 2, 3])
    finally:
        handle.remove()
    assert layers == ["layer1", "layer2", "layer3", "layer4"]
    assert len(calls) == 1 and len(result.maps) == 16
    sizes = [result[(name, "gradcam")].feature_size for name in layers]
    assert sizes == [(24, 24), (12, 12), (6, 6), (3, 3)]
    for name in layers:  # the same maps as computing each layer on its own
        alone = compute_cam(resnet18, batch, name, "gradcam++", [1, 2, 3])
        assert torch.allclose(result[(name, "gradcam++")].map, alone, atol=1e-5), name


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_has_stage_maps(name: str) -> None:
    model = create_model(name).eval()
    x = torch.randn(1, 3, 64, 64)
    result = compute_cams(model, x, stage_layers(model), ["gradcam"])
    assert len(result.maps) == model.num_stages
    assert all(c.map.shape == (1, 64, 64) for c in result.maps.values())


def test_a_layer_too_small_to_mean_anything_is_flagged(resnet18) -> None:
    x = torch.randn(1, 3, 32, 32)  # CIFAR-sized input into an ImageNet ResNet
    result = compute_cams(resnet18, x, ["layer1", "layer3", "layer4"])
    layer4 = result[("layer4", "gradcam")]
    assert layer4.feature_size == (1, 1) and "single position" in layer4.warning
    assert layer4.map.abs().max() == 0  # a constant map scales to zero, never to noise
    assert "coarse" in result[("layer3", "gradcam")].warning  # 2x2
    assert result[("layer1", "gradcam")].warning is None  # 8x8


def test_hooks_are_removed_after_use_and_after_an_error(resnet18, batch) -> None:
    before = all_hooks(resnet18)
    compute_cams(resnet18, batch, stage_layers(resnet18), METHODS)
    assert all_hooks(resnet18) == before

    with pytest.raises(ValueError, match="targets"):
        compute_cams(resnet18, batch, ["layer4"], targets=[1, 2])  # fails after the forward pass
    assert all_hooks(resnet18) == before

    def explode(module, inputs):
        raise RuntimeError("boom in fc")

    handle = resnet18.fc.register_forward_pre_hook(explode)  # fails during the forward pass
    try:
        with pytest.raises(RuntimeError, match="boom in fc"):
            compute_cams(resnet18, batch, ["layer3", "layer4"])
    finally:
        handle.remove()
    assert all_hooks(resnet18) == before


def test_activation_capture_is_a_context_manager_that_does_not_swallow_errors(resnet18, batch) -> None:
    with pytest.raises(KeyError, match="from the block"):
        with ActivationCapture(resnet18, ["layer2", "layer4"]) as capture:
            assert len(resnet18.layer2._forward_hooks) == 1
            with torch.no_grad():
                resnet18(batch)
            assert capture.activations["layer4"].shape == (3, 512, 3, 3)
            raise KeyError("from the block")
    assert all_hooks(resnet18) == 0


def test_model_mode_parameters_and_grads_are_left_as_they_were(batch) -> None:
    torch.manual_seed(0)
    model = create_model("resnet18")
    model.train()
    model.layer2.eval()  # a mixed state must come back exactly
    model.layer1.requires_grad_(False)
    modes = {name: m.training for name, m in model.named_modules()}
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    state = copy.deepcopy(model.state_dict())  # includes BN running statistics

    result = compute_cams(model, batch, stage_layers(model), METHODS)

    assert {name: m.training for name, m in model.named_modules()} == modes
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key  # BN ran in eval mode: no running-stat update
    model.eval()
    with torch.no_grad():
        assert torch.allclose(result.logits, model(batch), atol=1e-4)


def test_works_on_a_frozen_model_and_inside_inference_mode(resnet18, batch) -> None:
    expected = compute_cam(resnet18, batch, "layer3", "layercam", [5, 6, 7])
    frozen = copy.deepcopy(resnet18).requires_grad_(False)
    assert torch.allclose(compute_cam(frozen, batch, "layer3", "layercam", [5, 6, 7]), expected, atol=1e-6)
    with torch.inference_mode():
        x = batch.clone()  # an inference tensor, as the classifier makes them
        assert torch.allclose(compute_cam(resnet18, x, "layer3", "layercam", [5, 6, 7]), expected, atol=1e-6)
    assert torch.is_grad_enabled()  # grad mode restored


def test_bad_arguments_are_explained(resnet18, batch) -> None:
    with pytest.raises(ValueError, match="no module named 'layer9'.*layer1"):
        compute_cam(resnet18, batch, "layer9")
    with pytest.raises(ValueError, match="unknown CAM method 'scorecam'"):
        compute_cam(resnet18, batch, "layer4", "scorecam")
    with pytest.raises(ValueError, match="0..999"):
        compute_cam(resnet18, batch, "layer4", targets=[0, 1, 1000])
    with pytest.raises(ValueError, match="more than once"):
        compute_cam(resnet18, batch, "layer4.1.relu")  # BasicBlock calls its ReLU twice
    with pytest.raises(ValueError, match="in place"):
        compute_cam(resnet18, batch, "layer4.1.bn1")  # followed by an in-place ReLU
    assert all_hooks(resnet18) == 0


def test_two_threads_on_one_model_get_their_own_answers(resnet18, batch) -> None:
    """Hooks are per-module state shared by threads; each call must capture only its own pass."""
    jobs = {"a": [10, 20, 30], "b": [400, 500, 600]}
    serial = {k: compute_cams(resnet18, batch, ["layer2", "layer4"], METHODS, t) for k, t in jobs.items()}
    with torch.no_grad():
        plain_expected = resnet18(batch)
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    results: dict[str, list] = {"a": [], "b": [], "plain": []}

    def cam_worker(key: str) -> None:
        try:
            start.wait()
            for _ in range(4):
                results[key].append(compute_cams(resnet18, batch, ["layer2", "layer4"], METHODS, jobs[key]))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def plain_worker() -> None:  # a classification running at the same time
        try:
            start.wait()
            for _ in range(6):
                with torch.inference_mode():
                    results["plain"].append(resnet18(batch))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cam_worker, args=(k,)) for k in jobs] + [threading.Thread(target=plain_worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for key in jobs:
        assert len(results[key]) == 4
        for got in results[key]:
            assert got.targets == tuple(jobs[key])
            for k, cam in got.maps.items():
                assert torch.allclose(cam.map, serial[key][k].map, atol=1e-5), (key, k)
    assert all(torch.allclose(p, plain_expected, atol=1e-4) for p in results["plain"])
    assert all_hooks(resnet18) == 0


# --- Agreement with the reference implementation ---------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model_name,layer", [("resnet18", "layer4"), ("resnet18", "layer3"), ("resnet20", "layer2")])
def test_agrees_with_pytorch_grad_cam(method, model_name, layer) -> None:
    pgc = pytest.importorskip(
        "pytorch_grad_cam", reason="the reference implementation (pip install grad-cam, see requirements-dev.txt)"
    )
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    reference_class = {
        "gradcam": pgc.GradCAM,
        "gradcam++": pgc.GradCAMPlusPlus,
        "xgradcam": pgc.XGradCAM,
        "layercam": pgc.LayerCAM,
    }[method]
    torch.manual_seed(2)
    model = create_model(model_name).eval()
    x = torch.randn(3, 3, 64, 64)
    targets = [4, 1, 7]
    ours = compute_cam(model, x, layer, method, targets)

    # The reference runs loss.backward() and writes .grad, so it gets its own copy.
    ref_model = copy.deepcopy(model)
    with reference_class(model=ref_model, target_layers=[ref_model.get_submodule(layer)]) as cam:
        ref = torch.from_numpy(cam(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in targets]))
    # The reference min-max scales at the layer's resolution and then resizes with cv2 (bilinear,
    # half-pixel centres, i.e. align_corners=False); we upsample first and scale after, as the
    # definition says. Bilinear interpolation is affine, so scaling the reference's output once
    # more gives exactly our convention; peaks lowered by interpolation are the only difference.
    lo = ref.flatten(1).min(1).values[:, None, None]
    hi = ref.flatten(1).max(1).values[:, None, None]
    ref_rescaled = (ref - lo) / (hi - lo).clamp(min=1e-12)
    assert ours.shape == ref.shape == (3, 64, 64)
    assert (ours - ref_rescaled).abs().max().item() < 1e-3
    # And before rescaling the two agree to within the interpolation of the peaks.
    assert (ours - ref).abs().max().item() < 0.1
