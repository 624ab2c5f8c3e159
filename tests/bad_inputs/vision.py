"""Bad inputs of the vision domain: the model forward, `predict`, and ``zoo predict`` / ``zoo eval`` / ``zoo finetune``.

API cases use the trained ``swin-cifar10`` (32x32 RGB, 10 classes) and small random DiNAT/BiFormer models;
CLI cases use ``swin-cifar10`` with tiny PNG files written into the test's folder. Every case is refused
before inference, with a message naming what was expected and what came.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tests.bad_inputs import Case, CLIError, cli, protect
from zoo.errors import InputError

NAME = "swin-cifar10"


@functools.cache
def _swin():
    import zoo

    return zoo.load(NAME)


@functools.cache
def _dinat():
    import torch

    from zoo.vision.dinat import DiNAT

    torch.manual_seed(0)
    return DiNAT(embed_dim=16, mlp_ratio=2, depths=(1, 1), num_heads=(2, 2), kernel_size=3, num_classes=3).eval()


@functools.cache
def _biformer():
    import torch

    from zoo.vision.biformer import BiFormer

    torch.manual_seed(0)
    return BiFormer(depth=(1, 1, 1, 1), embed_dim=(16, 32, 32, 64), qk_dims=(16, 32, 32, 64), head_dim=16, n_win=2,
                    topks=(1, 2, 4, -2), num_classes=3).eval()


def _x(*shape, dtype=None, fill=None):
    import torch

    x = torch.randn(*shape) if fill is None else torch.full(shape, fill)
    return x if dtype is None else x.to(dtype)


def _forward(model, x):
    import torch

    with torch.no_grad():
        return model()(x)


def _nan_pixel(model, side):
    x = _x(2, 3, side, side)
    x[1, 0, 3, 5] = float("nan")
    return _forward(model, x)


def _predict(images, topk=None):
    from zoo.vision.cli import predict

    return predict(_swin(), images, topk)


def _png(tmp: Path, name="cat.png", mode="RGB", size=32) -> str:
    from PIL import Image

    path = tmp / name
    Image.new(mode, (size, size), color=(120, 30, 200) if mode == "RGB" else 90).save(path, format="PNG")
    return str(path)


def _forecast_folder(tmp: Path) -> str:
    from zoo.hub import save_pretrained
    from zoo.loading import build

    model = build("dlinear", {"seq_len": 24, "pred_len": 6, "enc_in": 2}, {}, name="tiny-forecaster")
    return str(save_pretrained(model, tmp / "forecaster"))


def _text_file(tmp: Path) -> str:
    path = tmp / "notes.png"
    path.write_text("this is not an image\n")
    return str(path)


def _predict_out_is_input():
    def make(tmp: Path) -> list[Path]:
        return [Path(_png(tmp, "cat.png"))]

    def action(tmp: Path, files: list[Path]):
        return cli("predict", NAME, str(files[0]), "--out", str(files[0]))

    return protect(make, action)


def _predict_out_is_json_input():
    def make(tmp: Path) -> list[Path]:
        return [Path(_png(tmp, "cat.png")), Path(_png(tmp, "dog.json"))]

    def action(tmp: Path, files: list[Path]):
        return cli("predict", NAME, *map(str, files), "--out", str(files[1]))

    return protect(make, action)


def _finetune_out_in_data():
    def make(tmp: Path) -> list[Path]:
        root = tmp / "data"
        for split in ("train", "val"):
            for cls in ("a", "b"):
                (root / split / cls).mkdir(parents=True)
                _png(root / split / cls, "0.png")
        return [root]

    def action(tmp: Path, files: list[Path]):
        return cli("finetune", NAME, "--data", str(files[0]), "--num-classes", "2", "--out", str(files[0] / "train"))

    return protect(make, action)


_out_fn, _out_after = _predict_out_is_input()
_outj_fn, _outj_after = _predict_out_is_json_input()
_ft_fn, _ft_after = _finetune_out_in_data()


CASES = [
    # --- the model forward (Swin / DiNAT / BiFormer)
    Case("swin-nan-pixel", lambda tmp: _nan_pixel(_swin, 32), InputError, ("expected finite", "1 NaN/inf")),
    Case("swin-inf-pixel", lambda tmp: _forward(_swin, _x(1, 3, 32, 32, fill=float("inf"))), InputError,
         ("expected finite", "3072 NaN/inf")),
    Case("dinat-nan-pixel", lambda tmp: _nan_pixel(_dinat, 32), InputError, ("expected finite", "NaN")),
    Case("biformer-nan-pixel", lambda tmp: _nan_pixel(_biformer, 64), InputError, ("expected finite", "NaN")),
    Case("swin-empty-batch", lambda tmp: _forward(_swin, _x(0, 3, 32, 32)), InputError,
         ("at least one image", r"empty batch of shape \(0, 3, 32, 32\)")),
    Case("dinat-empty-batch", lambda tmp: _forward(_dinat, _x(0, 3, 32, 32)), InputError, ("at least one image",)),
    Case("swin-uint8", lambda tmp: _forward(_swin, _x(1, 3, 32, 32, dtype=__import__("torch").uint8)), InputError,
         ("floating-point image batch", "torch.uint8")),
    Case("swin-float64", lambda tmp: _forward(_swin, _x(1, 3, 32, 32, dtype=__import__("torch").float64)),
         InputError, ("expected a torch.float32 image batch", "got torch.float64")),
    Case("dinat-float64", lambda tmp: _forward(_dinat, _x(1, 3, 32, 32, dtype=__import__("torch").float64)),
         InputError, ("torch.float32", "torch.float64")),
    Case("biformer-int64", lambda tmp: _forward(_biformer, _x(1, 3, 64, 64).long()), InputError,
         ("floating-point", "torch.int64")),
    Case("swin-one-channel", lambda tmp: _forward(_swin, _x(1, 1, 32, 32)), InputError,
         ("expected 3 channels", "got 1")),
    Case("swin-rgba", lambda tmp: _forward(_swin, _x(1, 4, 32, 32)), InputError, ("expected 3 channels", "got 4")),
    Case("swin-rank3", lambda tmp: _forward(_swin, _x(3, 32, 32)), InputError,
         (r"\[B, 3, H, W\]", r"shape \(3, 32, 32\)")),
    Case("dinat-rank5", lambda tmp: _forward(_dinat, _x(1, 1, 3, 32, 32)), InputError,
         (r"\[B, 3, H, W\]", r"shape \(1, 1, 3, 32, 32\)")),
    Case("swin-wrong-size", lambda tmp: _forward(_swin, _x(1, 3, 64, 64)), InputError, ("32x32 inputs", "got 64x64")),
    Case("biformer-side-not-multiple", lambda tmp: _forward(_biformer, _x(1, 3, 48, 48)), InputError,
         ("divisible by 64", "got 48x48")),
    Case("dinat-too-small", lambda tmp: _forward(_dinat, _x(1, 3, 2, 2)), InputError, ("at least 4x4", "got 2x2")),
    Case("swin-not-a-tensor", lambda tmp: _forward(_swin, [[0.0]]), InputError, (r"\[B, 3, H, W\]", "got list")),
    # --- predict
    Case("predict-empty-list", lambda tmp: _predict([]), InputError, ("at least one image", "got none")),
    Case("predict-topk-negative", lambda tmp: _predict([_png(tmp)], topk=-1), InputError,
         ("topk between 1 and 10", "got -1")),
    Case("predict-topk-zero", lambda tmp: _predict([_png(tmp)], topk=0), InputError, ("between 1 and 10", "got 0")),
    Case("predict-topk-over-classes", lambda tmp: _predict([_png(tmp)], topk=11), InputError,
         ("between 1 and 10", "got 11")),
    Case("predict-topk-float", lambda tmp: _predict([_png(tmp)], topk=2.5), InputError, ("between 1 and 10", "2.5")),
    Case("predict-missing-file", lambda tmp: _predict([str(tmp / "nope.png")]), InputError,
         ("nope.png", "does not exist")),
    Case("predict-not-an-image", lambda tmp: _predict([_text_file(tmp)]), InputError,
         ("is not a readable image", "expected one of")),
    Case("predict-float-array", lambda tmp: _predict([__import__("numpy").zeros((32, 32, 3))]), InputError,
         ("uint8 array", "float64")),
    Case("predict-chw-array", lambda tmp: _predict([__import__("numpy").zeros((3, 32, 32), "uint8")]), InputError,
         ("HxWx3", r"\(3, 32, 32\)")),
    Case("predict-int", lambda tmp: _predict([7]), InputError, ("file path, a PIL image", "got int")),
    # --- CLI
    Case("cli-predict-forecasting-weights", lambda tmp: cli("predict", NAME, _png(tmp), "--weights",
                                                            _forecast_folder(tmp)),
         CLIError, ("expected a vision", "timeseries model", "dlinear")),
    Case("cli-predict-missing-file", lambda tmp: cli("predict", NAME, str(tmp / "missing.jpg")), CLIError,
         ("missing.jpg", "does not exist")),
    Case("cli-predict-text-file", lambda tmp: cli("predict", NAME, _text_file(tmp)), CLIError,
         ("not a readable image",)),
    Case("cli-predict-topk-negative", lambda tmp: cli("predict", NAME, _png(tmp), "--topk", "-1"), CLIError,
         ("topk between 1 and 10", "got -1")),
    Case("cli-predict-out-is-input", _out_fn, CLIError, ("same file as the input",), after=_out_after),
    Case("cli-predict-out-is-second-input", _outj_fn, CLIError, ("same file as the input",), after=_outj_after),
    Case("cli-predict-out-bad-suffix", lambda tmp: cli("predict", NAME, _png(tmp), "--out", str(tmp / "r.txt")),
         CLIError, (r"ending in \.json", "r.txt")),
    Case("cli-predict-weights-missing", lambda tmp: cli("predict", NAME, _png(tmp), "--weights", str(tmp / "nope")),
         CLIError, ("Hub-form folder or a .safetensors file", "nope")),
    Case("cli-eval-data-missing", lambda tmp: cli("eval", NAME, "--data", str(tmp / "nowhere")), CLIError,
         ("ImageFolder directory", "nowhere")),
    Case("cli-eval-forecasting-folder", lambda tmp: cli("eval", NAME, "--weights", _forecast_folder(tmp), "--data",
                                                        str(tmp)),
         CLIError, ("expected a vision", "timeseries")),
    Case("cli-finetune-out-in-data", _ft_fn, CLIError, ("inside the input data folder",), after=_ft_after),
    Case("cli-finetune-unknown-override", lambda tmp: cli("finetune", NAME, "--num-classes", "2", "--data", str(tmp),
                                                          "nope=1"),
         CLIError, ("no field 'nope'", "expected one of")),
    Case("swin-stem-bad-widths", lambda tmp: _build("swin", img_size=32, patch_size=4, window_size=4, embed_dim=16,
                                                    depths=[1], num_heads=[2], stem_widths=[16, 0]),
         InputError, ("expected stem_widths: one or more positive channel counts", r"got \[16, 0\]")),
    Case("swin-stem-bad-patch", lambda tmp: _build("swin", img_size=32, patch_size=2, window_size=4, embed_dim=16,
                                                   depths=[1], num_heads=[2], stem_widths=[16]),
         InputError, ("stem_widths needs patch_size=4", "got 2")),
    Case("dinat-stem-empty", lambda tmp: _build("dinat", embed_dim=16, depths=[1], num_heads=[2], kernel_size=3,
                                                stem_widths=[]),
         InputError, ("expected stem_widths", r"got \[\]")),
]


def _build(architecture: str, **model_args):
    import zoo

    return zoo.build(architecture, model_args)
