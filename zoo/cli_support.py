"""What every ``zoo`` task verb shares: its options, model resolution, data folder, overrides, output.

The core adds the shared options (`add_shared_options`) before a domain adds its own, so
``--weights``, ``--data``, ``--threads``, ``--out`` and ``--json`` mean the same thing for every model;
``train`` and ``finetune`` also take ``--resume`` and ``key=value`` recipe overrides.

Example:
    >>> args = parser.parse_args(["informer-etth1", "lr=1e-3", "optim.warmup=100"])
    >>> recipe = apply_overrides(RECIPES[args.name], args.overrides)
    >>> model = load_model(args)            # NAME, a Hub-form FOLDER, or --weights FOLDER|FILE
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path
from typing import Any

from zoo.errors import InputError, WeightsNotFoundError

TRAINING_VERBS = ("train", "finetune")


def command(table: dict, verb: str, add_arguments):
    """Declare the decorated ``run(args) -> int`` as the handler of ``zoo VERB`` in a domain's ``COMMANDS`` table.

    Example:
        >>> COMMANDS: dict = {}
        >>> @command(COMMANDS, "eval", eval_arguments)
        ... def eval_run(args): ...
    """

    def register(run):
        if verb in table:
            raise ValueError(f"zoo {verb} is declared twice")
        table[verb] = (add_arguments, run)
        return run

    return register


def add_shared_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """The options every domain's ``zoo VERB`` understands, with one meaning everywhere."""
    parser.add_argument("name", help="a registered model name (see `zoo list`) or a Hub-form model folder")
    if verb in TRAINING_VERBS:
        parser.add_argument("overrides", nargs="*", default=[], metavar="KEY=VALUE",
                            help="recipe overrides, e.g. lr=1e-3 optim.warmup=100 (values parsed as JSON when possible)")
        parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--weights", default=None, metavar="FOLDER|FILE",
                        help="weights to use instead of the registered ones: a Hub-form folder or a .safetensors file")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="data: a data set name, folder or file (default: the model's data set under $ZOO_DATA_DIR)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="torch CPU threads (default: torch's default, all cores)")
    parser.add_argument("--out", default=None, metavar="PATH", help="output file or folder of this command")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def positive_int(text: str) -> int:
    """argparse ``type`` for counts: an integer >= 1, else a message naming what came."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def finish_args(args: argparse.Namespace, verb: str) -> argparse.Namespace:
    """Parse ``overrides`` into a dict and apply ``--threads``; called by the core before ``run(args)``."""
    if verb in TRAINING_VERBS:
        args.overrides = parse_overrides(args.overrides)
    else:
        args.overrides = {}
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return args


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null"):
            return None
        return text


def parse_overrides(items: list[str] | dict | None) -> dict:
    """``["lr=1e-3", "optim.warmup=100"]`` → ``{"lr": 0.001, "optim": {"warmup": 100}}``."""
    if not items:
        return {}
    if isinstance(items, dict):
        return dict(items)
    out: dict = {}
    for item in items:
        if "=" not in item or item.startswith("="):
            raise InputError(f"expected a recipe override KEY=VALUE (e.g. lr=1e-3), got {item!r}")
        key, text = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"override {item!r} sets a field inside {part!r}, which is also given a value")
        node[parts[-1]] = _value(text)
    return out


def apply_overrides(recipe: dict, overrides: dict, where: str = "recipe") -> dict:
    """A deep copy of ``recipe`` with ``overrides`` applied; unknown keys are an `InputError` listing the known ones."""
    out = copy.deepcopy(dict(recipe))
    for key, value in overrides.items():
        if key not in out:
            raise InputError(f"{where} has no field {key!r}; expected one of: {', '.join(sorted(out))}")
        if isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = apply_overrides(out[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def load_model(args: argparse.Namespace, **overrides: Any):
    """The model named by ``args.name`` (registered name or folder), with ``args.weights`` if given; eval mode."""
    import zoo
    from zoo.hub import from_pretrained
    from zoo.loading import load_weights_file

    weights = getattr(args, "weights", None)
    name = args.name
    if weights:
        path = Path(weights)
        if path.is_dir():
            model = from_pretrained(path)
            _check_same_domain(name, model, path)
            return model
        if path.is_file():
            model = zoo.load(name, pretrained=False, **overrides) if not Path(name).is_dir() else from_pretrained(name)
            return load_weights_file(model, path)
        raise WeightsNotFoundError(f"--weights expected a Hub-form folder or a .safetensors file, got {weights!r} (not found)")
    if Path(name).is_dir():
        return from_pretrained(name)
    return zoo.load(name, **overrides)


def _check_same_domain(name: str, model, path: Path) -> None:
    """``--weights`` of another domain (a forecaster for an image classifier) is refused, naming both."""
    from zoo.registry import get_architecture, get_entry

    if Path(name).is_dir():
        return
    want = get_entry(name).domain
    got = get_architecture(model.config["architecture"]).domain
    if want != got:
        raise InputError(f"--weights {str(path)!r} holds a {got} model ({model.config['architecture']}); expected a {want} "
                         f"model like {name!r}")


def data_dir(args: argparse.Namespace | None = None, *parts: str) -> Path:
    """``--data`` (when it is a folder) or ``$ZOO_DATA_DIR``, joined with ``parts``."""
    given = getattr(args, "data", None) if args is not None else None
    if given and Path(given).is_dir():
        return Path(given)
    root = os.environ.get("ZOO_DATA_DIR")
    if not root:
        raise InputError("expected a data folder: pass --data PATH or set ZOO_DATA_DIR, got neither")
    path = Path(root).joinpath(*parts)
    if not path.exists():
        raise InputError(f"expected the data folder {str(path)!r} (from ZOO_DATA_DIR={root!r}), but it does not exist")
    return path


def emit(args: argparse.Namespace, result: Any, text: str | None = None) -> None:
    """Print ``result`` as JSON with ``--json``, else ``text`` (or the JSON when no text is given)."""
    if getattr(args, "json", False) or text is None:
        print(json.dumps(result, indent=None if getattr(args, "json", False) else 2, default=str))
    else:
        print(text)
