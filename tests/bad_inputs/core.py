# ruff: noqa: E501 - one case per line reads as a table
"""Bad inputs at the core's doors: names, model folders, saving, publishing, promotion, attention, CLI options."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import zoo
import zoo.attention as za
from zoo.errors import InputError, UnknownModelError, WeightsIntegrityError, WeightsNotFoundError, ZooError
from zoo.hub import from_pretrained, publish, save_pretrained

from . import Case, CLIError, cli, protect

Q = torch.randn(1, 2, 4, 8)


def _folder(tmp: Path, name: str = "m") -> Path:
    return save_pretrained(zoo.load("dlinear-etth1-h96"), tmp / name)


def _changed_folder(tmp: Path) -> Path:
    """A fine-tuned-like model saved without results (a new identity: no metrics)."""
    model = zoo.load("dlinear-etth1-h96")
    with torch.no_grad():
        next(model.parameters()).add_(0.5)
    return save_pretrained(model, tmp / "changed", name="changed")


def _broken_config(text: str):
    def make(tmp: Path) -> Path:
        folder = _folder(tmp)
        (folder / "config.json").write_text(text)
        return folder

    return make


def _bitflip(tmp: Path) -> Path:
    folder = _folder(tmp)
    w = folder / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x10
    w.write_bytes(bytes(data))
    return folder


def _truncate(tmp: Path) -> Path:
    folder = _folder(tmp)
    w = folder / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    return folder


def _user_readme(tmp: Path) -> list[Path]:
    folder = tmp / "project"
    folder.mkdir()
    (folder / "README.md").write_text("# mine\n")
    (folder / "config.json").write_text('{"my": "settings"}')
    return [folder]


def _user_file(tmp: Path) -> list[Path]:
    path = tmp / "weights.bin"
    path.write_bytes(b"\x00user data")
    return [path]


_save_into_project = protect(_user_readme, lambda tmp, files: save_pretrained(zoo.load("dlinear-etth1-h96"), files[0]))
_save_onto_file = protect(_user_file, lambda tmp, files: save_pretrained(zoo.load("dlinear-etth1-h96"), files[0]))
_cli_promote_onto_project = protect(_user_readme, lambda tmp, files: cli("promote", str(files[0]), "x-y"))

CASES = [
    # names
    Case("load None", lambda tmp: zoo.load(None), InputError, (r"expected a model name", r"got None")),
    Case("load int", lambda tmp: zoo.load(3), InputError, (r"expected a model name", r"got 3")),
    Case("load empty", lambda tmp: zoo.load(""), InputError, (r"expected a model name", r"got ''")),
    Case("load list", lambda tmp: zoo.load(["informer-etth1"]), InputError, (r"expected a model name",)),
    Case("load typo", lambda tmp: zoo.load("informer-etth2"), UnknownModelError, (r"unknown model 'informer-etth2'", r"Did you mean")),
    Case("info typo", lambda tmp: zoo.info("dlinar-etth1"), UnknownModelError, (r"unknown model", r"dlinear")),
    Case("load bad override", lambda tmp: zoo.load("dlinear-etth1", widht=3), InputError, (r"no argument 'widht'", r"got model_args")),
    Case("architecture None", lambda tmp: zoo.build(None, {}), InputError, (r"expected an architecture name", r"got None")),
    Case("architecture typo", lambda tmp: zoo.build("informr", {}), UnknownModelError, (r"unknown architecture 'informr'", r"informer")),
    # model folders
    Case("from_pretrained missing", lambda tmp: from_pretrained(tmp / "nope"), WeightsNotFoundError, (r"neither an existing folder",)),
    Case("from_pretrained empty folder", lambda tmp: (tmp / "e").mkdir() or from_pretrained(tmp / "e"), WeightsNotFoundError,
         (r"has no config.json", r"not a model folder")),
    Case("from_pretrained bad json", lambda tmp: from_pretrained(_broken_config("{not json")(tmp)), WeightsIntegrityError,
         (r"not valid JSON", r"expected a zoo or timm config.json")),
    Case("from_pretrained json list", lambda tmp: from_pretrained(_broken_config("[1, 2]")(tmp)), WeightsIntegrityError,
         (r"expected a JSON object naming an 'architecture'", r"got '\[1, 2\]'")),
    Case("from_pretrained unknown arch", lambda tmp: from_pretrained(_broken_config('{"architecture": "nope"}')(tmp)),
         UnknownModelError, (r"unknown architecture 'nope'",)),
    Case("from_pretrained model_args not dict", lambda tmp: from_pretrained(_broken_config('{"architecture": "dlinear", "model_args": 3}')(tmp)),
         WeightsIntegrityError, (r"expected 'model_args' \(a JSON object\)", r"got int")),
    Case("from_pretrained bit flip", lambda tmp: from_pretrained(_bitflip(tmp)), WeightsIntegrityError, (r"sha256 mismatch", r"expected", r"got")),
    Case("from_pretrained truncated", lambda tmp: from_pretrained(_truncate(tmp)), WeightsIntegrityError, (r"sha256 mismatch",)),
    Case("from_pretrained bad repo id", lambda tmp: from_pretrained("a/b/c"), WeightsNotFoundError, (r"neither an existing folder nor a Hub repo id",)),
    Case("from_pretrained offline repo", lambda tmp: from_pretrained("nobody/nothing"), WeightsNotFoundError, (r"could not get nobody/nothing",)),
    # saving never destroys user files
    Case("save into a project folder", _save_into_project[0], InputError,
         (r"not a model folder but already has README.md, config.json", r"expected an empty folder"), _save_into_project[1]),
    Case("save onto a file", _save_onto_file[0], InputError, (r"expected a folder", r"got the existing file"), _save_onto_file[1]),
    Case("save a plain module", lambda tmp: save_pretrained(torch.nn.Linear(2, 2), tmp / "x"), ZooError, (r"Linear has no zoo config",)),
    # publishing and promotion verify folders
    Case("publish bad repo id", lambda tmp: publish("dlinear-etth1-h96", "noslash", dry_run=True), ZooError, (r"must look like 'org/name'", r"got 'noslash'")),
    Case("publish bit flip dry run", lambda tmp: publish(str(_bitflip(tmp)), "org/x", dry_run=True), WeightsIntegrityError, (r"sha256 mismatch",)),
    Case("publish truncated dry run", lambda tmp: publish(str(_truncate(tmp)), "org/x", dry_run=True), WeightsIntegrityError, (r"sha256 mismatch",)),
    Case("cli publish bit flip", lambda tmp: cli("publish", str(_bitflip(tmp)), "--repo-id", "org/x", "--dry-run"), CLIError, (r"sha256 mismatch",)),
    Case("cli promote missing run", lambda tmp: cli("promote", str(tmp / "none"), "x-y"), CLIError, (r"neither an existing folder",)),
    Case("cli promote bad name", lambda tmp: cli("promote", str(_folder(tmp)), "Bad Name", "--root", str(tmp / "r")), CLIError,
         (r"expected a model name of lower-case letters", r"got 'Bad Name'")),
    Case("cli promote no metrics", lambda tmp: cli("promote", str(_changed_folder(tmp)), "x-y", "--root", str(tmp / "r")), CLIError,
         (r"has no measured metrics", r"expected a finished run")),
    Case("cli promote a project folder", _cli_promote_onto_project[0], CLIError, (r"not valid JSON|naming an 'architecture'|no measured",),
         _cli_promote_onto_project[1]),
    # attention
    Case("attend scale nan", lambda tmp: za.attend(Q, Q, Q, scale=float("nan")), InputError, (r"finite positive number", r"got nan")),
    Case("attend scale inf", lambda tmp: za.attend(Q, Q, Q, scale=float("inf")), InputError, (r"finite positive number", r"got inf")),
    Case("attend scale negative", lambda tmp: za.attend(Q, Q, Q, scale=-1.0), InputError, (r"finite positive number", r"got -1.0")),
    Case("attend scale string", lambda tmp: za.attend(Q, Q, Q, scale="0.1"), InputError, (r"finite positive number", r"got str")),
    Case("attend nan bias", lambda tmp: za.attend(Q, Q, Q, bias=torch.full((4, 4), float("nan"))), InputError,
         (r"bias must not contain NaN", r"got 16 NaN of 16")),
    Case("attend one nan in bias", lambda tmp: za.attend(Q, Q, Q, bias=torch.zeros(4, 4).index_fill_(0, torch.tensor([1]), float("nan"))),
         InputError, (r"bias must not contain NaN", r"got 4 NaN")),
    Case("attend int q", lambda tmp: za.attend(Q.long(), Q, Q), InputError, (r"q must be a floating tensor", r"torch.int64")),
    Case("attend rank", lambda tmp: za.attend(Q[0, 0, 0], Q, Q), InputError, (r"same rank >= 2", r"got q \(8,\)")),
    Case("attend head dim", lambda tmp: za.attend(Q, Q[..., :4], Q), InputError, (r"k head_dim must equal q head_dim 8", r"got 4")),
    Case("attend mask dtype", lambda tmp: za.attend(Q, Q, Q, mask=torch.ones(4, 4)), InputError, (r"bool keep-mask", r"torch.float32")),
    Case("attend bias shape", lambda tmp: za.attend(Q, Q, Q, bias=torch.zeros(3, 4)), InputError, (r"not broadcastable to \(1, 2, 4, 4\)",)),
    # shared CLI options
    Case("cli threads zero", lambda tmp: cli("eval", "dlinear-etth1", "--threads", "0"), CLIError, (r"expected a positive integer, got 0",)),
    Case("cli threads text", lambda tmp: cli("eval", "dlinear-etth1", "--threads", "many"), CLIError, (r"expected a positive integer, got 'many'",)),
    Case("cli override without =", lambda tmp: cli("train", "dlinear-etth1-h96", "lr"), CLIError, (r"expected a recipe override KEY=VALUE", r"got 'lr'")),
    Case("cli override empty key", lambda tmp: cli("train", "dlinear-etth1-h96", "=3"), CLIError, (r"expected a recipe override KEY=VALUE",)),
    Case("cli unknown model", lambda tmp: cli("eval", "nope-model"), CLIError, (r"unknown model 'nope-model'",)),
    Case("cli info unknown", lambda tmp: cli("info", "swin-tinny"), CLIError, (r"unknown model 'swin-tinny'", r"swin-tiny")),
    Case("cli folder with bad config", lambda tmp: cli("eval", str(_broken_config("{oops")(tmp))), CLIError,
         (r"not valid JSON", r"expected a model folder's config.json")),
    Case("cli folder without config", lambda tmp: (tmp / "d").mkdir() or cli("eval", str(tmp / "d")), CLIError,
         (r"is a folder but not a model folder", r"expected a registered model name")),
    Case("cli weights of another domain", lambda tmp: cli("eval", "swin-cifar10", "--weights", str(_folder(tmp)), "--data", str(tmp)),
         CLIError, (r"timeseries model", r"expected a vision")),
    Case("cli weights missing", lambda tmp: cli("eval", "dlinear-etth1", "--weights", str(tmp / "none.safetensors")), CLIError,
         (r"--weights expected a Hub-form folder or a .safetensors file", r"not found")),
]


def _apply_overrides_unknown(tmp):
    from zoo.cli_support import apply_overrides

    return apply_overrides({"lr": 1.0, "optim": {"warmup": 3}}, {"optim": {"warmpu": 5}})


CASES.append(Case("override unknown nested key", _apply_overrides_unknown, InputError,
                  (r"recipe.optim has no field 'warmpu'", r"expected one of: warmup")))
CASES.append(Case("config json is a number", lambda tmp: from_pretrained(_broken_config(json.dumps(5))(tmp)), WeightsIntegrityError,
                  (r"expected a JSON object",)))
