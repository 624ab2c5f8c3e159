"""Hub ``widget:`` examples of a model card, with the model's own outputs on the bundled examples.

``widget_examples(entry_or_folder)`` returns the list that goes under ``widget:`` in the card's YAML:

- image classification: ``{"src", "example_title", "output": [{"label", "score"}, ...]}`` (top 5, computed);
- speech separation: ``{"src", "example_title", "output": [{"label": "speaker 1", "url"}, ...]}``;
- forecasting, 3D segmentation: ``{"text": <example file>, "example_title", "output": {"text": summary}}``;
- molecules: ``{"text": SMILES, "example_title", "output": {"text": "1.079 log10(mol/L)"}}``.

``src`` / ``url`` point into the model repository's ``examples/`` folder (absolute Hub URLs when
``repo_id`` is given); pass ``files_dir`` to get those files written there, ready to upload with the card.

Example:
    >>> from zoo.hub.widgets import widget_examples
    >>> widget_examples("swin-cifar10", repo_id="my-org/swin-cifar10", files_dir="out/swin-cifar10")[0]["output"][0]
    {'label': 'dog', 'score': 0.2759}
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from zoo.errors import InputError

EXAMPLES_DIR = "examples"


def _model_of(info: Any):
    """The loaded model of a registered name / `ModelEntry` / Hub-form folder / its config dict."""
    import zoo
    from zoo.hub import from_pretrained
    from zoo.registry import ModelEntry

    if isinstance(info, ModelEntry):
        return zoo.load(info.name)
    if isinstance(info, dict):
        if info.get("folder"):
            return from_pretrained(info["folder"])
        if info.get("name"):
            return zoo.load(info["name"])
        raise InputError(f"widget_examples: a dict needs 'folder' or 'name', got keys {sorted(info)}")
    if isinstance(info, (str, os.PathLike)):
        return from_pretrained(info) if Path(info).is_dir() else zoo.load(str(info))
    raise InputError(f"widget_examples expected a model name, ModelEntry, folder or dict, got {type(info).__name__}")


def _domain(model) -> str:
    from zoo.registry import get_architecture

    return get_architecture(model.config["architecture"]).domain


def _place(src: Path, files_dir: Path | None, repo_id: str | None) -> str:
    """Copy ``src`` into ``files_dir/examples`` (if given) and return its card reference."""
    rel = f"{EXAMPLES_DIR}/{src.name}"
    if files_dir is not None:
        (files_dir / EXAMPLES_DIR).mkdir(parents=True, exist_ok=True)
        if src.resolve() != (files_dir / rel).resolve():
            shutil.copyfile(src, files_dir / rel)
    return f"https://huggingface.co/{repo_id}/resolve/main/{rel}" if repo_id else rel


def _vision(model, files_dir, repo_id) -> list[dict]:
    from PIL import Image

    from zoo.vision.demo import classify, example_inputs

    out = []
    for path in map(Path, example_inputs(model)):
        with Image.open(path) as im:
            probs = classify(model, im.convert("RGB"))
        out.append({"src": _place(path, files_dir, repo_id), "example_title": path.stem.split("-", 1)[-1],
                    "output": [{"label": k, "score": round(v, 4)} for k, v in probs.items()]})  # fmt: skip
    return out


def _audio(model, files_dir, repo_id) -> list[dict]:
    import tempfile

    import soundfile as sf

    from zoo.audio.api import write_audio
    from zoo.audio.demo import example_inputs, separate_array

    out = []
    for path in map(Path, example_inputs(model)):
        data, rate = sf.read(path, dtype="float32")
        _, tracks, _ = separate_array(model, rate, data)
        outputs = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, track in enumerate(tracks):
                wav = write_audio(Path(tmp) / f"{path.stem}-speaker{i + 1}.wav", track, model.sample_rate)
                outputs.append({"label": f"speaker {i + 1}", "url": _place(wav, files_dir, repo_id)})
        out.append({"src": _place(path, files_dir, repo_id), "example_title": "two speakers", "output": outputs})
    return out


def _timeseries(model, files_dir, repo_id) -> list[dict]:
    import pandas as pd

    from zoo.timeseries.demo import example_inputs

    out = []
    for path in map(Path, example_inputs(model)):
        df = pd.read_csv(path, parse_dates=["date"])
        future = model.forecast_df(df)
        target = model.config.get("preprocessing", {}).get("target") or future.columns[-1]
        first = future.iloc[0]
        text = f"{len(future)} steps from {first['date']}; first {target} = {float(first[target]):.3f}"
        out.append({"text": _place(path, files_dir, repo_id), "example_title": "ETTh1, last 336 hours of the test split",
                    "output": {"text": text}})  # fmt: skip
    return out


def _medical(model, files_dir, repo_id) -> list[dict]:
    from zoo.medical.demo import example_inputs, segment_files

    files = example_inputs(model)
    if not files:
        return []
    _, _, summary = segment_files(model, files)
    # the case is CC BY-NC-SA data built from $ZOO_DATA_DIR: described, never copied into a model repository
    text = "FLAIR and T1c NIfTI volumes of one case (BRATS layout, 3 mm), e.g. a cropped BRATS 2013 test case"
    return [{"text": text, "example_title": "BRATS 2013 patient 1 (cropped)", "output": {"text": summary}}]


def _graph(model, files_dir, repo_id) -> list[dict]:
    from zoo.graph.demo import EXAMPLES, _check_smiles_model, predictions

    try:
        _check_smiles_model(model)
    except InputError:  # a TU-graph model: no SMILES examples
        return []
    out = []
    for smiles, name in list(EXAMPLES.items())[:3]:
        values, units, _ = predictions(model, smiles)
        text = "; ".join(f"{v:.3f} {units}".strip() if len(values) == 1 else f"{k}: {v:.3f} {units}".strip() for k, v in values.items())
        out.append({"text": smiles, "example_title": name, "output": {"text": text}})
    return out


def widget_examples(entry_or_folder_info: Any, repo_id: str | None = None, files_dir: str | os.PathLike | None = None) -> list[dict]:
    """Hub ``widget:`` examples for a model (a registered name, `ModelEntry`, Hub-form folder, or
    ``{"folder": ...}`` / ``{"name": ...}``), outputs computed by the model on CPU."""
    model = _model_of(entry_or_folder_info)
    domain = _domain(model)
    fn = {"vision": _vision, "audio": _audio, "timeseries": _timeseries, "medical": _medical, "graph": _graph}.get(domain)
    if fn is None:
        return []
    examples = fn(model, Path(files_dir) if files_dir is not None else None, repo_id)
    json.dumps(examples)  # the card's YAML takes plain JSON types only
    return examples
