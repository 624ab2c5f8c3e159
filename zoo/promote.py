"""One path from a training run to a model folder: ``zoo promote RUN NAME``.

A domain's training run ends by writing a Hub-form folder (``save_pretrained`` with the run's measured
``results``, its ``card`` text and ``training`` recipe). Promotion copies that folder, verified, into
``hub/models/<NAME>`` (the one home of the model's facts), renders its card from those facts and
rewrites the registry index, so ``zoo.load(NAME)`` serves it. Nothing in Python is rewritten.

Example:
    $ zoo train informer-etth1-h96 --out runs/timeseries/informer-etth1-h96
    $ zoo promote runs/timeseries/informer-etth1-h96/model informer-etth1-h96
    >>> from zoo.promote import write_model_folder
    >>> write_model_folder(model, "my-model", results={"metrics": [...]}, card={...}, training={...})
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import torch
from torch import nn

from zoo.errors import InputError
from zoo.io import atomic_write_bytes

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"expected a model name of lower-case letters, digits, '.', '_' or '-', got {name!r}")
    return name


def write_model_folder(
    model: nn.Module,
    name: str,
    *,
    results: dict | None,
    card: dict,
    training: dict | None = None,
    dtype: torch.dtype | None = None,
    root: str | os.PathLike | None = None,
) -> Path:
    """Write ``model`` with its facts as ``<root>/<name>`` (default ``hub/models``) and refresh the index."""
    from zoo.hub.pretrained import save_pretrained
    from zoo.registry import models_dir

    _check_name(name)
    folder = Path(root or models_dir()) / name
    model.config["name"] = name
    if root is None:  # the registered folder of this name: its card loads it by name, whatever weights it had before
        card = {**card, "loader": card.get("loader") or "zoo.load"}
    folder = save_pretrained(model, folder, name=name, results=results, card=card, training=training, dtype=dtype,
                             overwrite=True)
    if root is None:
        refresh_index()
    return folder


def add_widget_examples(folder: str | os.PathLike) -> list[dict]:
    """Compute the card's widget examples with the folder's own model (example files go to ``folder/examples``),
    store them in its config.json and re-render its README.md; returns them. Run after the weights change."""
    from zoo.hub.card import write_card
    from zoo.hub.widgets import widget_examples
    from zoo.io import atomic_write

    folder = Path(folder)
    examples = widget_examples(str(folder), files_dir=folder)
    config = json.loads((folder / "config.json").read_text())
    config.setdefault("card", {})["widget"] = examples
    with atomic_write(folder / "config.json") as tmp:
        Path(tmp).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_card(folder)
    return examples


def facts_from_entry(entry) -> tuple[dict, dict | None, dict]:
    """``(card, results, training)`` of a `ModelEntry` built by a domain for a finished run."""
    from zoo.hub.pretrained import _card_from_entry, _results_from_entry
    from zoo.registry import TRAINING_KEYS

    training = {"command": entry.train_command} if entry.train_command else {}
    for key in TRAINING_KEYS:
        if key in entry.extra:
            training[key] = entry.extra[key]
    card = _card_from_entry(entry, entry.extra.get("params", 0))
    if not card.get("parameters"):
        card.pop("parameters")
    return card, _results_from_entry(entry), training


def write_entry_folder(model: nn.Module, entry, dtype: torch.dtype | None = None, root=None) -> Path:
    """`write_model_folder` with the card, results and recipe of a domain-built `ModelEntry`."""
    card, results, training = facts_from_entry(entry)
    for metric in (results or {}).get("metrics", []):
        metric.setdefault("protocol", "")
    return write_model_folder(model, entry.name, results=results, card=card, training=training, dtype=dtype, root=root)


def promote(run_folder: str | os.PathLike, name: str, *, root: str | os.PathLike | None = None) -> Path:
    """Copy a run's model folder (verified) into ``<root>/<name>``; the weights' bytes are kept as they are."""
    from zoo.hub.pretrained import from_pretrained
    from zoo.registry import read_folder_facts

    run_folder = Path(run_folder)
    for sub in ("model", "hub"):  # a run directory: its model folder (speech runs call it hub/)
        if not (run_folder / "config.json").is_file() and (run_folder / sub / "config.json").is_file():
            run_folder = run_folder / sub
    model = from_pretrained(run_folder)  # verifies the recorded sha256
    config, results = read_folder_facts(run_folder)
    if not results.get("metrics"):
        raise InputError(f"{run_folder} has no measured metrics (results.json); expected a finished run's model folder")
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(config.get("weights_dtype"))
    return write_model_folder(model, name, results=results, card=config.get("card") or {},
                              training=config.get("training"), dtype=dtype, root=root)


def refresh_index() -> Path:
    """Rewrite ``zoo/model_index.json`` from the registered entries and the model folders."""
    from zoo import registry

    atomic_write_bytes(registry.INDEX_PATH, (json.dumps(registry.build_index(), indent=1, sort_keys=True) + "\n").encode())
    registry._INDEX = None
    return registry.INDEX_PATH


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="zoo promote", description="copy a training run's model folder into hub/models/NAME")
    p.add_argument("run", help="the run's model folder (or its run directory holding model/)")
    p.add_argument("name", help="the registered name it gets")
    p.add_argument("--root", default=None, help="models folder (default: the package's hub/models)")
    args = p.parse_args(argv)
    folder = promote(args.run, args.name, root=args.root)
    print(f"promoted {args.run} → {folder}")
    return 0
