"""Model cards generated from registry entries with huggingface_hub's `ModelCard` / `ModelCardData`.

The card is never typed by hand: `render_card(entry)` builds it from the entry, and a model folder's
entry comes from the folder's own facts (``config.json`` card and training sections, ``results.json``
metrics), so the committed ``README.md`` is generated from the one home of those facts
(``python -m zoo.hub.card`` re-renders every folder's card).

Example:
    >>> from zoo.registry import get_entry
    >>> card = render_card(get_entry("informer-etth1"))
    >>> card.data.to_dict()["model-index"][0]["results"][0]["metrics"]
"""

from __future__ import annotations

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from zoo.registry import ModelEntry

PIPELINE_TAGS = {
    "forecasting": "time-series-forecasting",
    "image-classification": "image-classification",
    "speech-separation": "audio-to-audio",
    "segmentation": "image-segmentation",
    "graph-regression": "graph-ml",
    "graph-classification": "graph-ml",
}

TASK_NAMES = {
    "forecasting": "Time Series Forecasting",
    "image-classification": "Image Classification",
    "speech-separation": "Speech Separation",
    "segmentation": "Image Segmentation",
    "graph-regression": "Graph Regression",
    "graph-classification": "Graph Classification",
}


# data sets with a Hub dataset repository (the card's ``datasets:`` lists only real Hub ids; others are named in prose)
HUB_DATASETS = {"cifar10": "uoft-cs/cifar10", "cifar-10": "uoft-cs/cifar10"}
# metric ids the Hub (and `evaluate`) know, by the zoo's metric names
METRIC_TYPES = {"mse": "mse", "mae": "mae", "rmse": "rmse", "roc_auc": "roc_auc", "top1": "accuracy", "accuracy": "accuracy",
                "dice": "dice", "si-snri": "si-snri", "si-snr": "si-snr"}


def hub_dataset_ids(datasets) -> list[str]:
    """The data sets that are Hub dataset repositories (``org/name`` ids or known names), as Hub ids."""
    out = []
    for d in datasets or ():
        key = str(d).lower()
        if key in HUB_DATASETS:
            out.append(HUB_DATASETS[key])
        elif "/" in str(d) and str(d).count("/") == 1 and "." not in str(d).rsplit("/", 1)[-1] and not str(d).startswith((".", "/")):
            out.append(str(d))
    return list(dict.fromkeys(out))


def metric_type(name: str) -> str:
    """A Hub metric id for a zoo metric name (``"top1 (held-out val)"`` -> ``"accuracy"``, ``"Dice WT"`` -> ``"dice"``)."""
    import re

    words = re.findall(r"[a-z0-9_-]+", name.lower())
    for word in words:  # the first word that names a known metric (rmse before mse: whole words only)
        if word in METRIC_TYPES:
            return METRIC_TYPES[word]
    return "_".join(words)


def _fmt(value: float | None, missing: str = "—") -> str:
    if value is None:
        return missing
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def card_data(entry: ModelEntry) -> ModelCardData:
    """The YAML front matter of ``entry``'s card (metrics become ``model-index`` eval results)."""
    results = [
        EvalResult(
            task_type=PIPELINE_TAGS.get(entry.task, entry.task),
            task_name=TASK_NAMES.get(entry.task, entry.task),
            dataset_type=(hub_dataset_ids([m.dataset]) or [m.dataset.lower()])[0],
            dataset_name=m.dataset,
            dataset_split=m.split,
            metric_type=metric_type(m.name),
            metric_name=m.name,
            metric_value=m.value,
        )
        for m in entry.metrics
        if m.value is not None
    ]
    tags = ["attention-zoo", entry.domain, entry.architecture, *entry.tags]
    return ModelCardData(
        library_name=entry.extra.get("library_name", "attention-zoo"),
        pipeline_tag=entry.extra.get("pipeline_tag", PIPELINE_TAGS.get(entry.task)),
        tags=list(dict.fromkeys(tags)),
        datasets=hub_dataset_ids(entry.datasets) or None,
        license=entry.license,
        base_model=entry.base_model,
        model_name=entry.name,
        eval_results=results or None,
        metrics=sorted({metric_type(m.name) for m in entry.metrics if m.value is not None}) or None,
        widget=entry.extra.get("widget") or None,
    )


def card_body(entry: ModelEntry) -> str:
    lines = [f"# {entry.name}", ""]
    if entry.description:
        lines += [entry.description.strip(), ""]
    lines += [
        "## Usage",
        "",
        "```python",
        *(["from zoo.hub import from_pretrained  # pip install attention-zoo", "",
           f'model = from_pretrained("{entry.name}")  # this folder, or its Hub repo id "ORG/{entry.name}"']
          if entry.extra.get("loader") == "from_pretrained" else
          ["import zoo  # pip install attention-zoo", "", f'model = zoo.load("{entry.name}")']),
        "```",
        "",
    ]
    usage = entry.extra.get("usage")
    if usage:
        lines += [usage.strip(), ""]
    if entry.metrics:
        lines += [
            "## Results",
            "",
            "Measured by attention-zoo with the command in the last column. Published numbers are the cited "
            "source's, for the same setting, quoted for comparison.",
            "",
            "| metric | dataset | split | measured | published | command |",
            "|---|---|---|---|---|---|",
        ]
        for m in entry.metrics:
            pub = _fmt(m.published) + (f" ({m.published_source})" if m.published is not None and m.published_source else "")
            lines.append(f"| {m.name} | {m.dataset} | {m.split} | {_fmt(m.value, 'not measured here')} | {pub} | `{m.command}` |")
        notes = [m.note for m in entry.metrics if m.note]
        if notes:
            lines += [""] + [f"- {n}" for n in dict.fromkeys(notes)]
        lines.append("")
    lines += ["## Model", "", f"- architecture: `{entry.architecture}` ({entry.domain}, {entry.task})"]
    if entry.datasets:
        lines.append(f"- data: {', '.join(entry.datasets)}")
    if "params" in entry.extra:
        lines.append(f"- parameters: {entry.extra['params']:,}")
    if entry.paper:
        lines.append(f"- paper: {entry.paper}")
    if entry.base_model:
        lines.append(f"- base model: {entry.base_model}")
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(entry.model_args.items()))
    if args:
        lines.append(f"- arguments: {args}")
    lines.append("")
    if entry.train_command:
        lines += ["## Training", "", "```bash", entry.train_command, "```", ""]
        if entry.extra.get("training_notes"):
            lines += [entry.extra["training_notes"].strip(), ""]
    lines += ["## License", "", f"`{entry.license}`."]
    if entry.extra.get("license_note"):
        lines += ["", entry.extra["license_note"].strip()]
    return "\n".join(lines).rstrip() + "\n"


def render_card(entry: ModelEntry) -> ModelCard:
    """The full model card of ``entry``."""
    return ModelCard(f"---\n{card_data(entry).to_yaml()}\n---\n\n{card_body(entry)}")


def write_card(folder, entry: ModelEntry | None = None):
    """Rewrite only ``README.md`` of a model folder from its facts (config.json, results.json); returns the path.

    ``folder`` may also be a registered name with a folder in ``hub/models``.
    """
    from pathlib import Path

    from zoo.io import atomic_write_bytes
    from zoo.registry import entry_from_folder, models_dir

    path = Path(folder)
    if not (path / "config.json").is_file():
        path = models_dir() / str(folder)
    entry = entry or entry_from_folder(path)
    return atomic_write_bytes(path / "README.md", str(render_card(entry)).encode())


if __name__ == "__main__":  # python -m zoo.hub.card [NAME|FOLDER ...] : re-render cards from their folders (all by default)
    import sys

    from zoo.registry import models_dir

    targets = sys.argv[1:] or sorted(p.name for p in models_dir().iterdir() if (p / "config.json").is_file())
    for target in targets:
        print(write_card(target))
