#!/usr/bin/env bash
# The package as users install releases: build the wheel, install it (not editable) into a fresh venv
# outside the checkout, and load the flagship offline from the weights shipped inside the wheel.
# The fresh venv borrows the already installed dependencies (torch, timm, ...) from .venv through a
# .pth path entry, so only attention-zoo itself comes from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d /tmp/zoo-wheel-XXXXXX)
trap 'rm -rf "$work"' EXIT
rm -rf build  # setuptools' build folder: stale copies of removed modules must not reach the wheel
.venv/bin/pip wheel --no-deps --quiet -w "$work/dist" . >/dev/null
wheel=$(ls "$work"/dist/attention_zoo-*.whl)
python3 -m venv "$work/venv"
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
deps=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$deps" > "$site/zoo-ci-deps.pth"
"$work/venv/bin/pip" install --no-deps --quiet "$wheel"
cd "$work"  # outside the checkout: nothing can be imported from the source tree
HF_HUB_OFFLINE=1 ZOO_DATA_DIR="$repo/../shared/data" "$work/venv/bin/python" - "$repo" <<'PY'
import sys
from pathlib import Path

import zoo
from zoo.registry import list_models, models_dir

repo = Path(sys.argv[1]).resolve()
here = Path(zoo.__file__).resolve()
assert repo not in here.parents, f"zoo was imported from the checkout ({here}), not from the wheel"
assert repo not in models_dir().resolve().parents, f"model folders found in the checkout: {models_dir()}"
model = zoo.load("informer-etth1")
folders = list_models(pretrained=True)
for name in ("dlinear-etth1", "gps-esol", "swin-cifar10"):
    zoo.load(name)
import importlib.resources

assets = importlib.resources.files("zoo.hub") / "assets"
assert (assets / "etth1-example.csv").is_file(), "the demos' bundled examples are missing from the wheel"
print(f"wheel OK: zoo from {here.parent}, {len(folders)} models with weights, flagship {model.config.name} loaded offline")
PY
