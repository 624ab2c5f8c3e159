"""``zoo demo NAME``: try a trained model in the browser (a Gradio page, on CPU).

The core only finds the model's domain and hands the loaded model to ``zoo.<domain>.demo.build``,
which lays out the task's page (forecast plot, top-5 labels, separated tracks, segmentation viewer,
molecule prediction) with bundled examples.

Example:
    $ zoo demo informer-etth1                 # http://127.0.0.1:7860
    $ zoo demo swin-cifar10 --port 8000 --share

    >>> from zoo.demo import build_app
    >>> app = build_app("gps-esol")            # a gradio.Blocks; or a Hub-form folder / Hub repo id
    >>> app.launch()
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from zoo.errors import InputError, UnknownModelError, ZooError

ASSETS = Path(__file__).resolve().parent.parent / "hub" / "assets"


def asset(name: str) -> Path:
    """A bundled example file (``hub/assets/<name>``, installed as ``zoo.hub`` package data)."""
    try:
        import zoo.hub

        base = Path(zoo.hub.__file__).resolve().parent / "assets"
    except ImportError:  # pragma: no cover - zoo.hub is part of the package
        base = ASSETS
    return base / name


def _folder_domain(folder: Path) -> str:
    from zoo.registry import get_architecture

    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise InputError(f"{str(folder)!r} is a folder without config.json: expected a model folder in Hub form")
    try:
        config = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{cfg_path} is not valid JSON: {exc}") from None
    if config.get("domain"):
        return str(config["domain"])
    if "architecture" not in config:
        raise InputError(f"{cfg_path} names no 'architecture'")
    return get_architecture(config["architecture"]).domain


def resolve(name_or_folder: str | os.PathLike) -> tuple[Any, str, str]:
    """``(model, domain, title)`` of a registered name, a Hub-form folder, or a Hub repo id ``org/name``."""
    import zoo
    from zoo.registry import get_architecture, get_entry

    path = Path(name_or_folder)
    if path.is_dir():
        from zoo.hub import from_pretrained

        domain = _folder_domain(path)
        model = from_pretrained(path)
        return model, domain, str(model.config.get("name") or path.name)
    name = str(name_or_folder)
    try:
        entry = get_entry(name)
    except UnknownModelError:
        if name.count("/") != 1 or name.startswith((".", "/")):
            raise
        from zoo.hub import from_pretrained  # a Hub repo id (the Space form)

        model = from_pretrained(name)
        return model, get_architecture(model.config["architecture"]).domain, name
    return zoo.load(entry.name), entry.domain, entry.name


def _first_sentence(text: str, limit: int = 240) -> str:
    """The description's first sentence, cut at a word boundary after ``limit`` characters."""
    head = text.split(". ")[0].rstrip(".") + "."
    if len(head) > limit:
        head = head[:limit].rsplit(" ", 1)[0].rstrip(",;:(") + " …"
    return head


def describe(model, title: str) -> str:
    """Markdown header of a demo page: name, task, description and headline metric when registered."""
    from zoo.registry import get_entry

    lines = [f"# {title}"]
    try:
        entry = get_entry(str(model.config.get("name") or title))
    except (UnknownModelError, KeyError):
        entry = None
    if entry is not None:
        if entry.description:
            lines.append(_first_sentence(entry.description))
        shown = [m for m in entry.metrics if m.value is not None][:3]
        if shown:
            lines.append("Measured: " + "; ".join(f"{m.name} {m.value:g} ({m.dataset}, {m.split})" for m in shown))
    lines.append("Runs on CPU.")
    return "\n\n".join(lines)


def build_app(name_or_folder: str | os.PathLike):
    """The Gradio page (``gradio.Blocks``) of a registered model, a Hub-form folder or a Hub repo id."""
    try:
        import gradio  # noqa: F401
    except ModuleNotFoundError:
        raise ZooError("`zoo demo` needs Gradio, which attention-zoo depends on: pip install gradio==6.31.0") from None
    model, domain, title = resolve(name_or_folder)
    try:
        mod = importlib.import_module(f"zoo.{domain}.demo")
    except ModuleNotFoundError as exc:
        raise ZooError(f"no demo page for the {domain!r} domain ({exc})") from None
    app = mod.build(model, title=title)
    app.title = title
    return app


def user_errors(fn):
    """Wrap a demo callback so that the zoo's errors reach the page as a `gradio.Error` message."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except ZooError as exc:
            raise gr.Error(str(exc), title="Input not usable", print_exception=False) from None

    return wrapper


def output_dir() -> Path:
    """A fresh folder under the system temp dir for one request's downloadable files (Gradio serves it)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="zoo-demo-"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a registered model name, a Hub-form model folder, or a Hub repo id (org/name)")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default: 7860, or the next free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 to serve the network)")
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for inference (default 1)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zoo demo", description="Serve a Gradio page to try a model in the browser.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, int(args.threads)))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if args.port is not None and not 1 <= args.port <= 65535:
        print(f"zoo demo: error: --port must be between 1 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        app = build_app(args.name)
    except ZooError as exc:
        print(f"zoo demo: error: {exc}", file=sys.stderr)
        return 2
    app.queue().launch(server_name=args.host, server_port=args.port, share=args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
