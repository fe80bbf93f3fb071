"""The shipped summaries and anatomies (resnet_core/reference/architecture.json) are what the code computes."""

from __future__ import annotations

import json

import pytest

from resnet_core.anatomy import network_anatomy
from resnet_core.architecture_file import ARCHITECTURE_FILE, compute_views, shipped_view
from resnet_core.models import list_models
from resnet_core.summary import summarize

REGENERATE = "regenerate it: python -m resnet_core.architecture_file"


def test_the_file_covers_every_variant_and_its_plain_twin() -> None:
    shipped = json.loads(ARCHITECTURE_FILE.read_text())
    assert list(shipped) == [f"{n}/{kind}" for n in list_models() for kind in ("residual", "plain")], REGENERATE


@pytest.mark.parametrize("name", ["resnet18", "resnet56", "resnet9", "resnet50"])
def test_the_file_matches_what_the_code_computes(name: str) -> None:
    shipped = json.loads(ARCHITECTURE_FILE.read_text())
    computed = json.loads(json.dumps(compute_views([name])))  # tuples as lists, as in the file
    for key, views in computed.items():
        assert shipped[key] == views, REGENERATE


@pytest.mark.parametrize(("name", "residual"), [("resnet110", False), ("resnet18", True), ("resnet9", True)])
def test_shipped_view_rebuilds_the_dataclasses(name: str, residual: bool) -> None:
    summary, anatomy = shipped_view(name, residual)
    assert summary == summarize(name, residual=residual)
    assert anatomy == network_anatomy(name, residual=residual)
    assert isinstance(anatomy.stages[0].blocks[0].in_shape, tuple)


def test_a_variant_missing_from_the_file_is_computed(tmp_path) -> None:
    missing = tmp_path / "architecture.json"
    missing.write_text("{}")
    summary, anatomy = shipped_view("resnet20", False, path=missing)
    assert summary == summarize("resnet20", residual=False) and anatomy.residual is False
    with pytest.raises(KeyError, match="resnet18"):
        shipped_view("resnet1202", path=missing)
