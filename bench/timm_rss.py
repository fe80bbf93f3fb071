"""What timm costs in memory: one process classifying with torchvision's ResNet-50 against timm's.

Issue 22 asks that timm be imported only when a timm backbone is used, and what it costs when it
is. Each case is a fresh interpreter that loads one classifier the way the Classify page does
(``resnet_core.classify.load_classifier``) and classifies one gallery photo; its resident memory
(VmRSS) and peak (VmHWM) are read from /proc afterwards. Weights are random (nothing can be
downloaded here), written beforehand, in a separate process, where each library's cache expects
them, so the loads are the real offline code paths::

    python bench/timm_rss.py            # appends an entry to bench/RESULTS.md
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from appserver import bench_parser, report  # noqa: E402

COMMIT = "0" * 40  # any revision name: refs/main points at it, as huggingface_hub lays out a download
TIMM_MODEL = "resnet50.a1_in1k"

PREPARE = f"""
import torch, torchvision, timm, safetensors.torch
from pathlib import Path
from resnet_core.pretrained import weights_path
path = weights_path("resnet50")
path.parent.mkdir(parents=True, exist_ok=True)
torch.save(torchvision.models.resnet50().state_dict(), path)
repo = Path(__import__("os").environ["HF_HUB_CACHE"]) / "models--timm--{TIMM_MODEL}"
(repo / "snapshots" / "{COMMIT}").mkdir(parents=True, exist_ok=True)
(repo / "refs").mkdir(exist_ok=True)
(repo / "refs" / "main").write_text("{COMMIT}")
state = timm.create_model("{TIMM_MODEL}", pretrained=False).state_dict()
safetensors.torch.save_file({{k: v.contiguous() for k, v in state.items()}},
                            str(repo / "snapshots" / "{COMMIT}" / "model.safetensors"))
"""

MEASURE = """
import json, sys
from resnet_core.classify import load_classifier
from resnet_core.images import load_image
from resnet_core.samples import gallery_samples
key = sys.argv[1]
photo = load_image(gallery_samples()[0].path)
if key != "none":
    load_classifier(key).classify(photo)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
mb = lambda k: int(status[k].split()[0]) / 1024
print(json.dumps({"rss": mb("VmRSS"), "peak": mb("VmHWM"), "timm": "timm" in sys.modules,
                  "torchvision": "torchvision" in sys.modules}))
"""

CASES = (("none", "torch and resnet_core.classify imported, no model"),
         ("shipped", "the shipped CIFAR-10 model"),
         ("imagenet:resnet50", "torchvision ResNet-50"),
         (f"timm:{TIMM_MODEL}", f"timm {TIMM_MODEL}"))


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="fresh processes per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TORCH_HOME": f"{tmp}/torch", "HF_HOME": f"{tmp}/hf", "HF_HUB_CACHE": f"{tmp}/hf/hub",
               "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", PREPARE], env=env, cwd=ROOT, check=True)
        table = ["| case | RSS after one photo (MB) | peak (MB) | timm loaded | torchvision loaded |",
                 "|---|---:|---:|---|---|"]
        for key, label in CASES:
            runs = [json.loads(subprocess.run([sys.executable, "-c", MEASURE, key], env=env, cwd=ROOT, check=True,
                                              capture_output=True, text=True).stdout.strip().splitlines()[-1])
                    for _ in range(args.repeat)]
            rss = "-".join(sorted({f"{r['rss']:.0f}" for r in runs}))
            peak = "-".join(sorted({f"{r['peak']:.0f}" for r in runs}))
            table.append(f"| {label} | {rss} | {peak} | {runs[0]['timm']} | {runs[0]['torchvision']} |")
    notes = ["random weights written into temporary torch hub and Hugging Face caches (offline loads); "
             f"{args.repeat} fresh processes per case, ranges where they differ"]
    report("bench/timm_rss.py", "## timm's memory cost",
           "One process classifying one photo per backbone source (`bench/timm_rss.py`, issue 22).",
           notes, table, append=not args.no_append)


if __name__ == "__main__":
    main()
