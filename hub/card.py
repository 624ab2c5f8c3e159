"""Model cards generated from registry entries with huggingface_hub's `ModelCard` / `ModelCardData`.

The card is never typed by hand: `render_card(entry)` builds it from the entry (description,
measured metrics with the command that reproduces each, published numbers labelled as such,
training command, licence), so the committed ``README.md`` of a model folder and the docs table
can be checked against the registry.

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
            dataset_type=m.dataset.lower(),
            dataset_name=m.dataset,
            dataset_split=m.split,
            metric_type=m.name.lower(),
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
        datasets=list(entry.datasets) or None,
        license=entry.license,
        base_model=entry.base_model,
        model_name=entry.name,
        eval_results=results or None,
    )


def card_body(entry: ModelEntry) -> str:
    lines = [f"# {entry.name}", ""]
    if entry.description:
        lines += [entry.description.strip(), ""]
    lines += [
        "## Usage",
        "",
        "```python",
        "import zoo  # pip install attention-zoo",
        "",
        f'model = zoo.load("{entry.name}")',
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


def write_card(entry: ModelEntry, folder=None):
    """Rewrite only ``README.md`` of ``entry``'s folder (after its metrics changed); returns the path."""
    from zoo.weights import atomic_write_bytes, folder_path

    if folder is None:
        if entry.weights is None or not entry.weights.folder:
            raise ValueError(f"{entry.name} has no repository folder")
        folder = folder_path(entry.weights.folder)
    path = folder / "README.md"
    atomic_write_bytes(path, str(render_card(entry)).encode())
    return path


if __name__ == "__main__":  # python -m zoo.hub.card NAME ... : refresh committed cards from the registry
    import sys

    from zoo.registry import get_entry

    for name in sys.argv[1:]:
        print(write_card(get_entry(name)))
