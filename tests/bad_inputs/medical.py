"""Bad inputs of the medical domain: `segment`, the Swin UNETR forward, MONAI-bundle export, and the CLI.

Volumes are tiny synthetic NIfTI files (40x36x30) written with nibabel; almost every case is refused
before inference. CLI cases use the registered ``swin-unetr-brats-subset`` (FLAIR + T1c).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from tests.bad_inputs import Case, CLIError, cli, protect
from zoo.errors import InputError

NAME = "swin-unetr-brats-subset"
TINY = {"in_channels": 2, "out_channels": 4, "feature_size": 12}
PRE = {
    "modalities": ["flair", "t1c"], "orientation": "RAS", "spacing": [4.0, 4.0, 4.0],
    "intensity": {"kind": "normalize", "nonzero": True, "channel_wise": True}, "roi_size": [64, 32, 32],
    "output": "softmax", "label_map": {"0": 0, "1": 2, "2": 1, "3": 2, "4": 3}, "class_values": [0, 2, 1, 4],
    "regions": {"WT": [1, 2, 3, 4], "TC": [1, 3, 4], "ET": [4]},
}  # fmt: skip
AFFINE = np.diag([2.0, 2.0, 2.5, 1.0])
SHAPE = (40, 36, 30)


@functools.cache
def _model():
    import torch

    from zoo.loading import build

    torch.manual_seed(0)
    return build("swin-unetr", TINY, PRE, name="medical-bad-inputs-tiny").eval()


def _nii(path: Path, data=None, affine=AFFINE, seed: int = 0) -> str:
    import nibabel as nib

    if data is None:
        data = np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path)


def _pair(tmp: Path) -> list[str]:
    return [_nii(tmp / "flair.nii.gz", seed=0), _nii(tmp / "t1c.nii.gz", seed=1)]


def _segment(tmp: Path, files, out=None, plot=None):
    from zoo.medical.infer import segment

    return segment(_model(), files, out, plot=plot)


def _with_second(make_second):
    """segment(first good volume, make_second(tmp)) — the second modality is the bad one."""

    def fn(tmp: Path):
        return _segment(tmp, [_nii(tmp / "flair.nii.gz"), make_second(tmp)])

    return fn


def _forward(x_fn):
    def fn(tmp: Path):
        import torch

        with torch.no_grad():
            return _model()(x_fn())

    return fn


def _torch():
    import torch

    return torch


# ------------------------------------------------------------------- data-loss cases (files stay byte-identical)
_out_is_input_api = protect(lambda tmp: [Path(p) for p in _pair(tmp)],
                            lambda tmp, files: _segment(tmp, [str(f) for f in files], out=files[0]))  # fmt: skip
_out_is_input_cli = protect(lambda tmp: [Path(p) for p in _pair(tmp)],
                            lambda tmp, files: cli("segment", NAME, files[0], files[1], "--out", files[0], "--no-progress"))  # fmt: skip
_out_is_second_cli = protect(
    lambda tmp: [Path(p) for p in _pair(tmp)],
    lambda tmp, files: cli("segment", NAME, "--modalities", f"flair={files[0]}", f"t1c={files[1]}", "--out", files[1]),
)
_plot_is_input = protect(lambda tmp: [Path(p) for p in _pair(tmp)],
                         lambda tmp, files: _segment(tmp, [str(f) for f in files], out=tmp / "seg.nii.gz", plot=files[1]))  # fmt: skip
_save_over_reference = protect(
    lambda tmp: [Path(_nii(tmp / "flair.nii.gz"))],
    lambda tmp, files: __import__("zoo.medical.infer", fromlist=["x"]).save_label_volume(
        np.zeros(SHAPE, np.uint8), AFFINE, str(files[0]), files[0]),
)


def _user_folder(tmp: Path) -> list[Path]:
    folder = tmp / "my-results"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "sub" / "seg.nii.gz").write_bytes(b"not yours")
    return [folder]


def _export(model, folder, **kw):
    from zoo.medical.bundle import export_bundle

    return export_bundle(model, folder, **kw)


_bundle_user_folder_api = protect(_user_folder, lambda tmp, f: _export(_model(), f[0]))
_bundle_user_folder_cli = protect(_user_folder, lambda tmp, f: cli("export-bundle", NAME, "--out", f[0]))


def _model_folder(tmp: Path) -> list[Path]:
    folder = tmp / "weights"
    folder.mkdir()
    (folder / "config.json").write_text('{"architecture": "swin-unetr"}')
    (folder / "model.safetensors").write_bytes(b"weights")
    return [folder]


_bundle_over_model_folder = protect(
    _model_folder, lambda tmp, f: _export(_model(), f[0], overwrite=True)
)
_finetune_nonempty_out = protect(_user_folder, lambda tmp, f: cli("finetune", NAME, "--data", str(_datalist(tmp)), "--out", f[0]))


def _datalist(tmp: Path) -> Path:
    f = tmp / "datalist.json"
    f.write_text('{"training": [], "validation": []}')
    return f


def _bundle(folder_fn, **kw):
    def fn(tmp: Path):
        from zoo.medical.bundle import export_bundle

        return export_bundle(_model(), folder_fn(tmp), **kw)

    return fn


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


CASES = [
    # --- output paths: refused before any work
    Case("segment-out-equals-input", _out_is_input_api[0], InputError, (r"same file as the input", r"flair\.nii\.gz"),
         after=_out_is_input_api[1]),  # fmt: skip
    Case("segment-out-png", lambda tmp: _segment(tmp, _pair(tmp), out=tmp / "seg.png"), InputError,
         (r"expected an output label volume file ending in \.nii\.gz or \.nii", r"seg\.png")),  # fmt: skip
    Case("segment-out-existing-dir", lambda tmp: _segment(tmp, _pair(tmp), out=tmp), InputError,
         (r"expected an output", r"existing directory")),  # fmt: skip
    Case("segment-out-missing-parent", lambda tmp: _segment(tmp, _pair(tmp), out=tmp / "no" / "seg.nii.gz"), InputError,
         (r"does not exist", r"no")),  # fmt: skip
    Case("segment-plot-equals-input", _plot_is_input[0], InputError, (r"plot", r"same file as the input"), after=_plot_is_input[1]),
    Case("segment-plot-not-png", lambda tmp: _segment(tmp, _pair(tmp), out=tmp / "s.nii.gz", plot=tmp / "ov.jpg"), InputError,
         (r"plot file ending in \.png", r"ov\.jpg")),  # fmt: skip
    Case("save-label-volume-over-reference", _save_over_reference[0], InputError, (r"same file as the input",),
         after=_save_over_reference[1]),  # fmt: skip
    # --- the volumes
    Case("segment-one-modality", lambda tmp: _segment(tmp, _pair(tmp)[:1]), InputError,
         (r"takes 2 modalities \(flair, t1c\)", r"got 1 file")),  # fmt: skip
    Case("segment-three-modalities", lambda tmp: _segment(tmp, _pair(tmp) + [_nii(tmp / "t2.nii.gz")]), InputError,
         (r"takes 2 modalities", r"got 3 file")),  # fmt: skip
    Case("segment-no-files", lambda tmp: _segment(tmp, []), InputError, (r"expected one NIfTI file per modality", r"got none")),
    Case("segment-single-path-string", lambda tmp: _segment(tmp, _pair(tmp)[0]), InputError,
         (r"expected a list of NIfTI files", r"single path")),  # fmt: skip
    Case("segment-shapes-disagree", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.ones((40, 36, 28), np.float32) * np.arange(28))),
         InputError, (r"t1c: shape \(40, 36, 28\) differs from the first modality's \(40, 36, 30\)",)),  # fmt: skip
    Case("segment-affines-disagree", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", affine=np.diag([1.0, 2.0, 2.5, 1.0]))),
         InputError, (r"t1c: affine differs", r"co-register")),  # fmt: skip
    Case("segment-2d-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.random.rand(40, 36).astype(np.float32))),
         InputError, (r"t1c: expected a 3D volume, got shape \(40, 36\)",)),  # fmt: skip
    Case("segment-4d-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.random.rand(40, 36, 30, 3).astype(np.float32))),
         InputError, (r"expected a 3D volume, got shape \(40, 36, 30, 3\)",)),  # fmt: skip
    Case("segment-not-nifti-suffix", _with_second(lambda tmp: _write(tmp / "t1c.csv", b"a,b\n1,2\n")), InputError,
         (r"t1c: expected a NIfTI file \(\.nii or \.nii\.gz\)", r"t1c\.csv")),  # fmt: skip
    Case("segment-corrupt-nifti", _with_second(lambda tmp: _write(tmp / "t1c.nii.gz", b"\x1f\x8b garbage")), InputError,
         (r"t1c: expected a readable NIfTI file", r"t1c\.nii\.gz")),  # fmt: skip
    Case("segment-png-renamed-nii", _with_second(lambda tmp: _write(tmp / "t1c.nii", b"\x89PNG\r\n\x1a\n" + bytes(400))), InputError,
         (r"expected a readable NIfTI file",)),  # fmt: skip
    Case("segment-nan-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.where(np.random.rand(*SHAPE) > 0.5, np.nan, 1.0)
                                                              .astype(np.float32))),
         InputError, (r"t1c: expected finite voxel values", r"NaN/inf voxel")),  # fmt: skip
    Case("segment-inf-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.full(SHAPE, np.inf, np.float32))), InputError,
         (r"expected finite voxel values, got 43200 NaN/inf voxel\(s\) of 43200",)),  # fmt: skip
    Case("segment-constant-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.zeros(SHAPE, np.float32))), InputError,
         (r"t1c: volume .* is empty: every voxel has the value 0\.0",)),  # fmt: skip
    Case("segment-zero-size-volume", _with_second(lambda tmp: _nii(tmp / "t1c.nii.gz", np.zeros((40, 0, 30), np.float32))), InputError,
         (r"t1c: expected a non-empty 3D volume, got shape \(40, 0, 30\)",)),  # fmt: skip
    Case("segment-missing-file", _with_second(lambda tmp: str(tmp / "missing.nii.gz")), InputError, (r"t1c: file not found", r"missing")),
    Case("segment-directory-as-file", _with_second(lambda tmp: str(tmp)), InputError, (r"t1c: expected a NIfTI file", r"directory")),
    Case("segment-not-a-model", lambda tmp: __import__("zoo.medical.infer", fromlist=["x"]).segment(_torch().nn.Linear(2, 2), _pair(tmp)),
         InputError, (r"expected a Swin UNETR segmentation model", r"got Linear")),  # fmt: skip
    # --- tensors given to the network itself
    Case("forward-int64-tensor", _forward(lambda: _torch().zeros(1, 2, 64, 32, 32, dtype=_torch().int64)), InputError,
         (r"expected a \[B, 2, H, W, D\] float32 tensor", r"got torch\.int64 of shape \(1, 2, 64, 32, 32\)")),  # fmt: skip
    Case("forward-float64-tensor", _forward(lambda: _torch().zeros(1, 2, 32, 32, 32, dtype=_torch().float64)), InputError,
         (r"float32 tensor", r"got torch\.float64")),  # fmt: skip
    Case("forward-4d-tensor", _forward(lambda: _torch().zeros(2, 64, 32, 32)), InputError,
         (r"needs a 5D input", r"got shape \(2, 64, 32, 32\)")),  # fmt: skip
    Case("forward-wrong-channels", _forward(lambda: _torch().zeros(1, 3, 32, 32, 32)), InputError,
         (r"2 input channels", r"got 3 channels")),  # fmt: skip
    Case("forward-size-not-divisible", _forward(lambda: _torch().zeros(1, 2, 48, 32, 32)), InputError,
         (r"divisible by patch_size\*\*5 = 32", r"\(48, 32, 32\)")),  # fmt: skip
    Case("forward-numpy-array", _forward(lambda: np.zeros((1, 2, 32, 32, 32), np.float32)), InputError, (r"float32 tensor, got ndarray",)),
    Case("forward-empty-batch", _forward(lambda: _torch().zeros(0, 2, 32, 32, 32)), InputError, (r"got an empty tensor of shape \(0, 2",)),
    Case("encoder-wrong-channels",
         lambda tmp: __import__("zoo.medical.swin_unetr", fromlist=["x"]).SwinUNETREncoder(in_channels=1, feature_size=12)(
             _torch().zeros(1, 2, 32, 32, 32)),
         InputError, (r"SwinUNETREncoder expected a \[B, 1, H, W, D\]", r"got 2 channels")),  # fmt: skip
    # --- MONAI bundle export
    Case("bundle-over-user-folder", _bundle_user_folder_api[0], InputError, (r"holds other files", r"--overwrite"),
         after=_bundle_user_folder_api[1]),  # fmt: skip
    Case("bundle-over-model-folder-even-with-overwrite", _bundle_over_model_folder[0], InputError,
         (r"is a zoo model folder", r"never replaces it"), after=_bundle_over_model_folder[1]),  # fmt: skip
    Case("bundle-out-is-a-file", _bundle(lambda tmp: _write(tmp / "bundle.zip", b"zip")), InputError,
         (r"expected a bundle folder", r"existing file")),  # fmt: skip
    Case("bundle-missing-parent", _bundle(lambda tmp: tmp / "no" / "bundle"), InputError, (r"does not exist",)),
    Case("bundle-not-a-swin-unetr",
         lambda tmp: _export(_torch().nn.Linear(2, 2), tmp / "b"),
         InputError, (r"expected a zoo Swin UNETR", r"got Linear")),  # fmt: skip
    # --- the command line
    Case("cli-segment-out-equals-input", _out_is_input_cli[0], CLIError, (r"same file as the input", r"flair\.nii\.gz"),
         after=_out_is_input_cli[1]),  # fmt: skip
    Case("cli-segment-out-equals-second-modality", _out_is_second_cli[0], CLIError, (r"same file as the input", r"t1c\.nii\.gz"),
         after=_out_is_second_cli[1]),  # fmt: skip
    Case("cli-segment-out-png", lambda tmp: cli("segment", NAME, *_pair(tmp), "--out", tmp / "seg.png"), CLIError,
         (r"ending in \.nii\.gz or \.nii", r"seg\.png")),  # fmt: skip
    Case("cli-segment-no-out", lambda tmp: cli("segment", NAME, *_pair(tmp)), CLIError, (r"needs --out", r"\.nii\.gz")),
    Case("cli-segment-one-file", lambda tmp: cli("segment", NAME, _pair(tmp)[0], "--out", tmp / "s.nii.gz", "--no-progress"), CLIError,
         (r"takes 2 modalities \(flair, t1c\)", r"got 1 file")),  # fmt: skip
    Case("cli-segment-missing-file", lambda tmp: cli("segment", NAME, _pair(tmp)[0], tmp / "nope.nii.gz", "--out", tmp / "s.nii.gz"),
         CLIError, (r"t1c: file not found", r"nope\.nii\.gz")),  # fmt: skip
    Case("cli-segment-modality-not-pair", lambda tmp: cli("segment", NAME, "--modalities", _pair(tmp)[0], "--out", tmp / "s.nii.gz"),
         CLIError, (r"--modalities takes NAME=FILE pairs",)),  # fmt: skip
    Case("cli-segment-unknown-modality",
         lambda tmp: cli("segment", NAME, "--modalities", f"t2={_pair(tmp)[0]}", "--out", tmp / "s.nii.gz"),
         CLIError, (r"must be among \['flair', 't1c'\]", r"\['t2'\]")),  # fmt: skip
    Case("cli-export-bundle-over-user-folder", _bundle_user_folder_cli[0], CLIError, (r"holds other files", r"my-results"),
         after=_bundle_user_folder_cli[1]),  # fmt: skip
    Case("cli-export-bundle-no-out", lambda tmp: cli("export-bundle", NAME), CLIError, (r"needs --out FOLDER",)),
    Case("cli-finetune-no-data", lambda tmp: cli("finetune", NAME, "--out", tmp / "run"), CLIError, (r"needs --data", r"datalist JSON")),
    Case("cli-finetune-data-missing", lambda tmp: cli("finetune", NAME, "--data", tmp / "nope.json", "--out", tmp / "run"), CLIError,
         (r"--data expected a BRATS-layout folder or a datalist JSON", r"not found")),  # fmt: skip
    Case("cli-finetune-out-not-empty", _finetune_nonempty_out[0], CLIError, (r"expected a new or empty folder", r"my-results"),
         after=_finetune_nonempty_out[1]),  # fmt: skip
    Case("cli-finetune-resume-without-run", lambda tmp: cli("finetune", NAME, "--data", _datalist(tmp), "--out", tmp / "run", "--resume"),
         CLIError, (r"--resume expected a previous run", r"last\.ckpt")),  # fmt: skip
    Case("cli-finetune-unknown-override", lambda tmp: cli("finetune", NAME, "lr_max=1", "--data", _datalist(tmp), "--out", tmp / "run"),
         CLIError, (r"has no field 'lr_max'", r"max_steps")),  # fmt: skip
    Case("cli-eval-bad-split", lambda tmp: cli("eval", NAME, "--split", "holdout"), CLIError, (r"invalid choice: 'holdout'",)),
]
