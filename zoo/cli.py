"""The ``zoo`` command: one command style across domains.

Core commands: ``zoo list``, ``zoo info NAME``, ``zoo publish NAME --repo-id ORG/NAME [--space]``,
``zoo promote RUN NAME`` (a finished run's model folder into ``hub/models/NAME``), ``zoo demo NAME``
(a Gradio page) and ``zoo fit --config my.yaml`` (LightningCLI).
Task commands take a model (or architecture) name first and are answered by that model's domain:
``zoo train|finetune|eval|predict|forecast|separate|segment|export-bundle NAME [options]``; each
domain declares them in ``<domain>/cli.py`` as ``COMMANDS = {"eval": (add_arguments, run), ...}``. The
core adds the options they share (`zoo.cli_support`: ``--weights --data --threads --out --json``, and
for train/finetune ``--resume`` and ``key=value`` recipe overrides) before the domain adds its own.
``zoo eval NAME --help`` shows the options of NAME's domain.

Example:
    $ zoo list 'informer-*'
    $ zoo info informer-etth1
    $ zoo eval informer-etth1-h96 --data ETTh1
    $ zoo publish informer-etth1-h96 --repo-id my-org/informer-etth1-h96 --dry-run
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from zoo.errors import UnknownModelError, ZooError

TASK_COMMANDS = {
    "train": "train a registered recipe (or an architecture) from scratch",
    "finetune": "fine-tune a pretrained model on your data and write a Hub-form folder",
    "eval": "recompute a model's card metrics",
    "predict": "run a classifier / regressor on inputs",
    "forecast": "forecast a CSV with a time-series model",
    "separate": "separate the speakers of a WAV file",
    "segment": "segment a NIfTI volume",
    "export-bundle": "export a MONAI bundle",
}


# core verbs implemented in their own modules: verb -> (module, function taking argv)
DELEGATED = {
    "promote": ("zoo.promote", "main"),
    "demo": ("zoo.demo", "main"),
    "fit": ("zoo.training.cli", "main"),
}


def _domain_of(name: str) -> str:
    """Domain of a registered name, an architecture name, or a Hub-form folder (via its config.json)."""
    from pathlib import Path

    from zoo.registry import architectures, get_architecture, get_entry

    folder = Path(name)
    if (folder / "config.json").is_file():
        from zoo.errors import WeightsIntegrityError

        try:
            config = json.loads((folder / "config.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WeightsIntegrityError(f"{folder / 'config.json'} is not valid JSON ({exc}); expected a model folder's "
                                        "config.json") from None
        arch = config.get("zoo_architecture", config.get("architecture")) if isinstance(config, dict) else None
        if not isinstance(arch, str):
            raise WeightsIntegrityError(f"{folder / 'config.json'}: expected a JSON object naming an 'architecture', "
                                        f"got {str(config)[:80]!r}")
        return get_architecture(arch).domain
    if folder.is_dir():
        raise UnknownModelError(f"{name!r} is a folder but not a model folder (no config.json); expected a registered "
                                "model name or a Hub-form model folder")
    try:
        return get_entry(name).domain
    except UnknownModelError:
        arch = architectures().get(name)
        if arch is not None:
            return arch.domain
        raise


def _run_task_command(command: str, argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: zoo {command} NAME [options]\n\n{TASK_COMMANDS[command]}.\n"
              f"NAME is a registered model (see `zoo list`); `zoo {command} NAME --help` lists its options.")
        return 0 if argv else 2
    name = argv[0]
    domain = _domain_of(name)
    try:
        module = importlib.import_module(f"zoo.{domain}.cli")
    except ModuleNotFoundError:
        module = None
    commands = getattr(module, "COMMANDS", {})
    if command not in commands:
        have = ", ".join(sorted(commands)) or "none yet"
        raise ZooError(f"`zoo {command}` is not available for {domain} models such as {name!r}; {domain} offers: {have}")
    add_arguments, run = commands[command]
    from zoo.cli_support import add_shared_options, finish_args

    # "resolve": a domain may narrow a shared option (e.g. make --data required) by defining it again
    parser = argparse.ArgumentParser(prog=f"zoo {command}", description=f"{TASK_COMMANDS[command]} ({domain}).",
                                     conflict_handler="resolve")
    add_shared_options(parser, command)
    add_arguments(parser)
    # intermixed: `zoo finetune NAME --csv X lr=1e-4` (overrides after options) parses like `NAME lr=1e-4 --csv X`
    parsed = parser.parse_intermixed_args(argv) if command in ("train", "finetune") else parser.parse_args(argv)
    args = finish_args(parsed, command)
    return int(run(args) or 0)


def _metric_text(metric) -> str:
    if metric is None:
        return ""
    if metric.value is None:
        return f"{metric.dataset} {metric.name} {metric.published:.4g} (published)" if metric.published is not None else ""
    return f"{metric.dataset} {metric.name} {metric.value:.4g}"


def _cmd_list(args: argparse.Namespace) -> int:
    from zoo.registry import domain_errors, get_entry, list_models

    names = list_models(args.pattern, domain=args.domain, task=args.task, pretrained=args.pretrained)
    rows = []
    for n in names:
        e = get_entry(n)
        metric = e.metrics[0] if e.metrics else None
        rows.append({
            "name": n,
            "domain": e.domain,
            "task": e.task,
            "weights": "yes" if e.pretrained else "no",
            "metric": _metric_text(metric),
            "aliases": ", ".join(e.aliases),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models match")
    else:
        cols = ["name", "domain", "task", "weights", "metric", "aliases"]
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
        print("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
        for r in rows:
            print("  ".join(r[c].ljust(widths[c]) for c in cols).rstrip())
    for domain, err in domain_errors().items():
        print(f"note: zoo.{domain} could not be imported ({err})", file=sys.stderr)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import zoo

    data = zoo.info(args.name)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(f"{data['name']}  ({data['domain']}, {data['task']}, architecture {data['architecture']})")
    if data["aliases"]:
        print(f"aliases: {', '.join(data['aliases'])}")
    if data["description"]:
        print(data["description"])
    w = data["weights"]
    if w is None:
        print("weights: none (architecture only)")
    else:
        src = ["its folder" if w["folder"] else None,
               f"hub {w['repo_id']}@{w['revision'] or 'main'}" if w["repo_id"] else None,
               w["url"]]
        print("weights: " + " → ".join(s for s in src if s) + (f"  sha256 {w['sha256']}" if w["sha256"] else ""))
    print(f"source: {data['source_file']}")
    if data["folder"]:
        print(f"folder: {data['folder']}  (config.json, results.json, model.safetensors, README.md)")
    print(f"license: {data['license']}")
    for m in data["metrics"]:
        pub = f" (published {m['published']}, {m['published_source']})" if m["published"] is not None else ""
        value = "not measured here" if m["value"] is None else f"{m['value']:.4g}"
        print(f"  {m['dataset']} {m['split']} {m['name']}: {value}{pub}  ← {m['command']}")
    if data["train_command"]:
        print(f"trained with: {data['train_command']}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from zoo.hub import publish

    if args.space:
        from zoo.hub.publish import publish_space

        files = publish_space(args.name, args.repo_id, dry_run=args.dry_run, private=args.private,
                              model_repo_id=args.model_repo_id)
    else:
        files = publish(args.name, args.repo_id, revision=args.revision, dry_run=args.dry_run, private=args.private)
    verb = "would upload" if args.dry_run else "uploaded"
    where = f"https://huggingface.co/{'spaces/' if args.space else ''}{args.repo_id}"
    print(f"{verb} to {where}" + (f" (revision {args.revision})" if args.revision else "") + ":")
    for f in files:
        print(f"  {f.path}  {f.size:,} bytes  sha256 {f.sha256}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="attention-zoo: pretrained attention models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", help="shell-style name pattern, e.g. 'informer-*'")
    p.add_argument("--domain")
    p.add_argument("--task")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pretrained", dest="pretrained", action="store_true", default=None, help="only models with weights")
    g.add_argument("--no-weights", dest="pretrained", action="store_false", help="only models without weights")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="card data, metrics and weight source of a model")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("publish", help="upload a model folder in Hub form")
    p.add_argument("name", help="registered model name or a Hub-form folder")
    p.add_argument("--repo-id", required=True, help="target Hub repository, ORG/NAME")
    p.add_argument("--revision", help="branch to upload to (created if missing)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="print exactly what would be uploaded, send nothing")
    p.add_argument("--space", action="store_true", help="publish a Gradio Space that runs `zoo demo NAME` instead of the model")
    p.add_argument("--model-repo-id", default=None, help="with --space: the model repository the Space loads (ORG/NAME)")
    p.set_defaults(func=_cmd_publish)

    sub.add_parser("promote", help="copy a finished run's model folder into hub/models/NAME (verified)", add_help=False)
    sub.add_parser("demo", help="serve a browser demo of a model (Gradio)", add_help=False)
    sub.add_parser("fit", help="LightningCLI: fit a zoo task from a YAML config (zoo fit --config my.yaml)", add_help=False)

    for command, help_text in TASK_COMMANDS.items():
        sub.add_parser(command, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in TASK_COMMANDS:
            return _run_task_command(argv[0], argv[1:])
        if argv and argv[0] in DELEGATED:
            module, func = DELEGATED[argv[0]]
            return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except (ZooError, FileNotFoundError) as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
