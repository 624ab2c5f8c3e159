"""Medical domain: Swin UNETR equals MONAI's, converters, NIfTI pipeline, bundle round trip, CLI, bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

nib = pytest.importorskip("nibabel")
monai_nets = pytest.importorskip("monai.networks.nets")

from tests.conftest import data_dir  # noqa: E402
from zoo.errors import InputError  # noqa: E402
from zoo.loading import build  # noqa: E402
from zoo.medical.swin_unetr import (  # noqa: E402
    SwinUNETR,
    SwinUNETREncoder,
    WindowPlan,
    convert_monai_checkpoint,
    convert_ssl_encoder_checkpoint,
)

TINY = {"in_channels": 2, "out_channels": 4, "feature_size": 12}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _pair(**kw):
    torch.manual_seed(0)
    ref = monai_nets.SwinUNETR(**kw).eval()
    ours = SwinUNETR(**kw).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


@pytest.mark.parametrize(
    "kw, shape",
    [
        (dict(TINY), (1, 2, 64, 32, 32)),  # stage-1 grid 32x16x16: padded + shifted windows
        (dict(in_channels=1, out_channels=3, feature_size=12, use_v2=True, downsample="mergingv2"), (1, 1, 32, 64, 32)),
        (dict(in_channels=1, out_channels=2, feature_size=12, window_size=(3, 4, 5), depths=(2, 1, 1, 1)), (1, 1, 32, 32, 64)),
        (dict(in_channels=3, out_channels=2, feature_size=12, spatial_dims=2, window_size=5), (2, 3, 64, 96)),
    ],
)
def test_equals_monai(kw, shape):
    ref, ours = _pair(**kw)
    assert list(ours.state_dict()) == list(ref.state_dict())  # identical keys, identical order
    x = torch.randn(shape)
    with torch.no_grad():
        a, b = ref(x), ours(x)
    assert (a - b).abs().max().item() < 1e-4


def test_gradients_equal_monai():
    ref, ours = _pair(**TINY)
    ref.train(), ours.train()
    x = torch.randn(1, 2, 32, 32, 32)  # stage-1 grid 16^3: padded to 21^3 + shifted windows
    sum(h.square().mean() for h in ref.swinViT(x, True)).backward()  # the encoder is where the attention is
    sum(h.square().mean() for h in ours.swinViT(x, True)).backward()
    g_ref = dict(ref.named_parameters())
    for name, p in ours.swinViT.named_parameters(prefix="swinViT"):
        torch.testing.assert_close(p.grad, g_ref[name].grad, atol=1e-5, rtol=1e-3)


def test_size_not_divisible_is_a_clear_error():
    net = SwinUNETR(**TINY)
    with pytest.raises(InputError, match=r"divisible by patch_size\*\*5 = 32.*\(48, 64, 64\)"):
        net(torch.randn(1, 2, 48, 64, 64))
    with pytest.raises(InputError, match="5D input"):
        net(torch.randn(2, 64, 64, 64))
    with pytest.raises(InputError, match="feature_size"):
        SwinUNETR(in_channels=1, out_channels=2, feature_size=16)


def _loop_window_attention(x, attn, window, shift):
    """Reference: pad, roll, then loop over windows with an explicit softmax(q kᵀ + bias + region mask) v."""
    B, *spatial, C = x.shape
    nd = len(spatial)
    padded = [math.ceil(s / w) * w for s, w in zip(spatial, window)]
    xp = torch.zeros(B, *padded, C)
    xp[(slice(None), *(slice(0, s) for s in spatial))] = x
    xs = torch.roll(xp, [-s for s in shift], dims=list(range(1, nd + 1)))
    region = torch.zeros(padded, dtype=torch.long)
    for axis in range(nd):  # region id: 0 before the last window, 1 last window before the wrap, 2 wrapped part
        ids = torch.zeros(padded[axis], dtype=torch.long)
        if shift[axis]:
            ids[padded[axis] - window[axis] : padded[axis] - shift[axis]] = 1
            ids[padded[axis] - shift[axis] :] = 2
        region = region * 3 + ids.view([-1 if i == axis else 1 for i in range(nd)])
    H, N = attn.num_heads, math.prod(window)
    w_qkv, b_qkv = attn.qkv.weight, attn.qkv.bias
    bias = attn.relative_bias(N)
    out = torch.zeros_like(xs)
    for b in range(B):
        for corner in np.ndindex(*[p // w for p, w in zip(padded, window)]):
            sl = tuple(slice(c * w, (c + 1) * w) for c, w in zip(corner, window))
            tok = xs[(b, *sl)].reshape(N, C)
            reg = region[sl].reshape(N)
            q, k, v = (tok @ w_qkv.T + b_qkv).view(N, 3, H, C // H).permute(1, 2, 0, 3)
            s = q @ k.transpose(-1, -2) * attn.scale + bias
            s = s + (reg[:, None] != reg[None, :]) * -100.0
            o = (s.softmax(-1) @ v).transpose(0, 1).reshape(N, C)
            out[(b, *sl)] = (o @ attn.proj.weight.T + attn.proj.bias).view(*window, C)
    out = torch.roll(out, list(shift), dims=list(range(1, nd + 1)))
    return out[(slice(None), *(slice(0, s) for s in spatial))]


@pytest.mark.parametrize("spatial, window, shift", [((5, 6, 4), (3, 3, 2), (1, 1, 1)), ((7, 5), (3, 3), (1, 1)),
                                                    ((6, 6, 6), (3, 3, 3), (0, 0, 0))])  # fmt: skip
def test_window_attention_matches_loop_reference(spatial, window, shift):
    from zoo.medical.swin_unetr import SwinTransformerBlock

    torch.manual_seed(1)
    blk = SwinTransformerBlock(12, 3, window, shift).eval()
    torch.nn.init.normal_(blk.attn.relative_position_bias_table, std=0.5)
    x = torch.randn(2, *spatial, 12)
    plan = WindowPlan(2, spatial, window, shift, "cpu")
    with torch.no_grad():
        tokens = x.reshape(-1, 12)
        if plan.needs_pad:
            tokens = torch.cat([tokens, tokens.new_zeros(1, 12)])
        win = tokens.index_select(0, plan.forward).view(-1, plan.num_tokens, 12)
        ours = blk.attn(win, plan).reshape(-1, 12).index_select(0, plan.inverse).view(x.shape)
        ref = _loop_window_attention(x, blk.attn, window, shift)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)
    if any(shift):  # windows are grouped by mask: interior windows run without any mask
        assert sum(m is None for _, _, m in plan.groups) == 1 and len(plan.groups) > 1


# ----------------------------------------------------------------------------- converters


def test_convert_monai_checkpoint_formats():
    torch.manual_seed(0)
    sd = monai_nets.SwinUNETR(**TINY).state_dict()
    wrapped = {"state_dict": {"module." + k.replace(".mlp.linear1.", ".mlp.fc1."): v for k, v in sd.items()}, "epoch": 3}
    for ckpt in (sd, {"model": sd}, wrapped):
        got = convert_monai_checkpoint(ckpt)
        assert list(got) == list(sd) and all(torch.equal(got[k], sd[k]) for k in sd)
        SwinUNETR(**TINY).load_state_dict(got, strict=True)


def _ssl_checkpoint(feature_size=12):
    """A checkpoint in model_swinvit.pt's format, built from a MONAI encoder (plus pre-training heads)."""
    torch.manual_seed(2)
    ref = monai_nets.SwinUNETR(in_channels=1, out_channels=2, feature_size=feature_size).eval()
    sd = {}
    for k, v in ref.swinViT.state_dict().items():
        k = k.replace(".mlp.linear1.", ".mlp.fc1.").replace(".mlp.linear2.", ".mlp.fc2.")
        sd["module." + k] = v
    sd["module.rotation_head.weight"] = torch.randn(4, 8 * feature_size)
    sd["module.contrastive_head.weight"] = torch.randn(512, 8 * feature_size)
    sd["module.conv.0.weight"] = torch.randn(3, 3)
    return ref, {"state_dict": sd, "epoch": 100}


def test_ssl_encoder_converter_and_zoo_load(tmp_path, monkeypatch):
    ref, ckpt = _ssl_checkpoint()
    enc = SwinUNETREncoder(in_channels=1, feature_size=12).eval()
    enc.load_state_dict(convert_ssl_encoder_checkpoint(ckpt), strict=True)
    x = torch.randn(1, 1, 32, 32, 32)
    with torch.no_grad():
        for a, b in zip(ref.swinViT(x, True), enc(x)):
            assert (a - b).abs().max().item() < 1e-4
    # the registered entry resolves the upstream URL from the zoo cache, converts and loads strictly
    import zoo

    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    (tmp_path / "downloads").mkdir()
    torch.save(ckpt, tmp_path / "downloads" / "model_swinvit.pt")
    model = zoo.load("swin-unetr-ssl-encoder", feature_size=12)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[4], enc(x)[4])


# ----------------------------------------------------------------------------- NIfTI pipeline

PRE = {
    "modalities": ["flair", "t1c"],
    "orientation": "RAS",
    "spacing": [4.0, 4.0, 4.0],
    "intensity": {"kind": "normalize", "nonzero": True, "channel_wise": True},
    "roi_size": [64, 32, 32],
    "overlap": 0.25,
    "sw_batch_size": 1,
    "output": "softmax",
    "label_map": {"0": 0, "1": 2, "2": 1, "3": 2, "4": 3},
    "class_values": [0, 2, 1, 4],
    "regions": {"WT": [1, 2, 3, 4], "TC": [1, 3, 4], "ET": [4]},
}
AFFINE = np.array([[-2.0, 0, 0, 10], [0, -2.0, 0, 20], [0, 0, 2.5, -30], [0, 0, 0, 1]])  # LPS, anisotropic


def _volumes(folder, n=2, shape=(40, 36, 30), affines=None, seed=0):
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        f = folder / f"mod{i}.nii.gz"
        nib.save(nib.Nifti1Image(rng.normal(size=shape).astype(np.float32), AFFINE if affines is None else affines[i]), f)
        files.append(str(f))
    return files


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build("swin-unetr", TINY, PRE, name="medical-test-tiny").eval()


def test_segment_keeps_grid_and_equals_manual_pipeline(tmp_path, tiny_model):
    from monai import transforms as mt
    from monai.inferers import sliding_window_inference

    from zoo.medical.infer import segment

    files = _volumes(tmp_path)
    res = segment(tiny_model, files, tmp_path / "seg.nii.gz", plot=tmp_path / "ov.png")
    out = nib.load(tmp_path / "seg.nii.gz")
    assert out.shape == (40, 36, 30) and np.allclose(out.affine, AFFINE)
    assert nib.aff2axcodes(out.affine) == ("L", "P", "S")
    assert set(res["labels"]) <= {0, 1, 2, 4} and (tmp_path / "ov.png").stat().st_size > 1000
    # manual: RAS at 4 mm -> sliding window -> argmax -> class values -> back to LPS at the input grid
    img = np.stack([nib.load(f).get_fdata(dtype=np.float32) for f in files])
    t = mt.Compose([mt.Orientation("RAS"), mt.Spacing([4.0] * 3, mode="bilinear"), mt.NormalizeIntensity(nonzero=True, channel_wise=True)])
    from monai.data import MetaTensor

    x = t(MetaTensor(torch.from_numpy(img), affine=torch.from_numpy(AFFINE)))
    assert tuple(x.shape[1:]) == (20, 18, 19)
    with torch.no_grad():
        logits = sliding_window_inference(x.as_tensor()[None], [64, 32, 32], 1, tiny_model, overlap=0.25, mode="gaussian")
    cls = torch.tensor([0, 2, 1, 4])[logits[0].argmax(0)]
    # the voxel of the input at index (i, j, k) lies (orientation flip, 2 mm / 2.5 mm -> 4 mm) near cls[(39 - i) // 2, ...]
    arr = np.asarray(out.dataobj)
    assert arr[39, 35, 0] == cls[0, 0, 0] and arr[0, 0, 0] == cls[-1, -1, 0]


def test_bad_inputs_are_clear_errors(tmp_path, tiny_model):
    from zoo.medical.infer import segment

    files = _volumes(tmp_path)
    with pytest.raises(InputError, match="takes 2 modalities"):
        segment(tiny_model, files[:1])
    two_d = tmp_path / "slice.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((40, 36), np.float32), AFFINE), two_d)
    with pytest.raises(InputError, match="expected a 3D volume"):
        segment(tiny_model, [files[0], str(two_d)])
    empty = tmp_path / "empty.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((40, 36, 30), np.float32), AFFINE), empty)
    with pytest.raises(InputError, match="empty"):
        segment(tiny_model, [files[0], str(empty)])
    moved = AFFINE.copy()
    moved[0, 3] += 5
    other = _volumes(tmp_path / "o" if (tmp_path / "o").mkdir() is None else None, affines=[moved, moved], seed=1)
    with pytest.raises(InputError, match="affine differs"):
        segment(tiny_model, [files[0], other[1]])
    with pytest.raises(InputError, match="not found"):
        segment(tiny_model, [files[0], str(tmp_path / "missing.nii.gz")])


def test_cli_segment_and_bundle_round_trip(tmp_path, tiny_model, registry_sandbox):
    """`zoo segment` and the exported MONAI bundle (run by `python -m monai.bundle run`) give the same volume."""
    from zoo.cli import main
    from zoo.hub import save_pretrained
    from zoo.registry import ModelEntry, WeightsSource, register_model

    folder = save_pretrained(tiny_model, tmp_path / "hub" / "medical-test-tiny")
    name = f"medical-test-tiny-{tmp_path.name}"
    register_model(ModelEntry(name, "swin-unetr", "medical", "segmentation", model_args=dict(TINY), preprocessing=PRE,
                              weights=WeightsSource(folder=str(folder.resolve()))))  # fmt: skip
    files = _volumes(tmp_path, seed=3)
    argv = ["segment", name, "--modalities", f"t1c={files[1]}", f"flair={files[0]}", "--out", str(tmp_path / "cli.nii.gz")]
    assert main(argv + ["--no-progress"]) == 0
    assert main(["export-bundle", name, "--out", str(tmp_path / "bundle")]) == 0
    for rel in ("configs/metadata.json", "configs/inference.json", "configs/train.json", "configs/logging.conf",
                "models/model.pt", "docs/README.md", "docs/data_license.txt", "LICENSE"):  # fmt: skip
        assert (tmp_path / "bundle" / rel).is_file(), rel
    proc = subprocess.run(
        [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(tmp_path / "bundle/configs/inference.json"),
         "--meta_file", str(tmp_path / "bundle/configs/metadata.json"), "--bundle_root", str(tmp_path / "bundle"),
         "--image_files", repr(files), "--output_dir", str(tmp_path / "bout")],
        capture_output=True, text=True, timeout=180, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours = nib.load(tmp_path / "cli.nii.gz")
    theirs = nib.load(tmp_path / "bout" / "mod0_seg.nii.gz")
    assert np.allclose(theirs.affine, ours.affine)
    a, b = np.asarray(ours.dataobj), np.asarray(theirs.dataobj).reshape(ours.shape)
    assert (a == b).mean() > 0.999 and len(np.unique(a)) > 1


def test_segmentation_task_dice_and_datalist(tmp_path, tiny_model):
    """Validation Dice goes through class -> label value -> region, as the card's numbers do."""
    import json

    from zoo.medical.train import SegmentationTask, dice_np, load_cases

    task = SegmentationTask(tiny_model, preprocessing=PRE).eval()
    torch.manual_seed(0)
    x = torch.randn(1, 2, 64, 32, 32)
    y = torch.randint(0, 4, (1, 1, 64, 32, 32)).float()
    with torch.no_grad():
        loss = task.shared_step({"image": x, "label": y}, "val")
        pred = torch.tensor([0, 2, 1, 4])[tiny_model(x).argmax(1)].numpy()
    true = torch.tensor([0, 2, 1, 4])[y[:, 0].long()].numpy()
    got = task.dice.aggregate()
    for i, values in enumerate(PRE["regions"].values()):  # WT, TC, ET in the order given
        assert abs(float(got[i]) - dice_np(np.isin(pred, values), np.isin(true, values))) < 1e-5
    assert torch.isfinite(loss) and loss > 0
    # a datalist JSON with relative paths
    spec = {"training": [{"image": ["a/f.nii.gz", "a/t.nii.gz"], "label": "a/s.nii.gz"}],
            "validation": [{"image": "b/f.nii.gz", "label": "b/s.nii.gz"}]}  # fmt: skip
    (tmp_path / "list.json").write_text(json.dumps(spec))
    tr, va = load_cases(tmp_path / "list.json", PRE)
    assert tr[0]["image"] == [str(tmp_path / "a/f.nii.gz"), str(tmp_path / "a/t.nii.gz")]
    assert va[0] == {"image": [str(tmp_path / "b/f.nii.gz")], "label": str(tmp_path / "b/s.nii.gz")}


# ----------------------------------------------------------------------------- the trained BRATS-subset model


BRATS = None if data_dir() is None else data_dir() / "medical" / "brats2015-subset"


@pytest.mark.skipif(BRATS is None or not (BRATS / "test").is_dir(), reason="BRATS subset not available (set ZOO_DATA_DIR)")
def test_trained_brats_subset_reproduces_card_dice():
    """`zoo.load` of the committed weights gives the card's per-case test Dice (one test case: fast enough for CI)."""
    import zoo
    from zoo.medical.train import evaluate
    from zoo.registry import get_entry

    entry = get_entry("swin-unetr-brats-subset")
    pinned = entry.extra["test_cases"]
    case = "brats_2013_pat0002_1"
    got = evaluate(zoo.load("swin-unetr-brats-subset"), BRATS, "test", cases=[case])["cases"][case]
    assert set(got) == {"TC", "WT", "ET"}
    for region, value in pinned[case].items():
        assert abs(got[region] - value) <= 2e-3, (region, got[region], value)
    # the card's means are the mean of the pinned cases
    for m in entry.metrics:
        if m.split == "test":
            region = m.name.split()[-1]
            assert abs(m.value - float(np.mean([c[region] for c in pinned.values()]))) <= 1e-4


# ----------------------------------------------------------------------------- safe outputs


def test_segment_refuses_bad_out_before_inference_and_writes_atomically(tmp_path, tiny_model, monkeypatch):
    from zoo.medical import infer

    files = _volumes(tmp_path)
    before = [open(f, "rb").read() for f in files]
    called = []
    monkeypatch.setattr(infer, "predict_logits", lambda *a, **k: called.append(1))
    for out in (files[0], tmp_path / "seg.png", tmp_path / "missing" / "seg.nii.gz"):
        with pytest.raises(InputError):
            infer.segment(tiny_model, files, out)
    assert not called and [open(f, "rb").read() for f in files] == before
    monkeypatch.undo()
    res = infer.segment(tiny_model, files, tmp_path / "seg.nii")  # .nii is accepted too
    assert nib.load(res["out"]).shape == (40, 36, 30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod0.nii.gz", "mod1.nii.gz", "seg.nii"]  # no temporary left


def test_segment_cli_out_equal_to_input_is_refused_and_input_kept(tmp_path, tiny_model, registry_sandbox):
    from tests.bad_inputs import CLIError, cli
    from zoo.hub import save_pretrained

    folder = save_pretrained(tiny_model, tmp_path / "medical-test-tiny")
    files = _volumes(tmp_path, seed=5)
    before = open(files[0], "rb").read()
    with pytest.raises(CLIError, match="same file as the input"):
        cli("segment", str(folder), files[0], files[1], "--out", files[0], "--no-progress")
    assert open(files[0], "rb").read() == before


# ----------------------------------------------------------------------------- MONAI bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_model):
    from zoo.medical.bundle import export_bundle

    return export_bundle(tiny_model, tmp_path_factory.mktemp("b") / "bundle")


def _monai(*args, cwd=None, timeout=240):
    import os

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "monai.bundle", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)  # fmt: skip


def test_bundle_metadata_has_every_schema_field_and_named_channels(bundle):
    import json

    from zoo.medical.bundle import REQUIRED_METADATA, REQUIRED_TENSOR_FIELDS, SCHEMA_URL

    meta = json.loads((bundle / "configs/metadata.json").read_text())
    assert meta["schema"] == SCHEMA_URL and SCHEMA_URL.startswith("https://") and SCHEMA_URL.endswith(".json")
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    assert not missing, missing
    assert meta["version"] in meta["changelog"]
    for key in ("monai_version", "pytorch_version", "numpy_version"):
        assert isinstance(meta[key], str) and meta[key][0].isdigit()
    fmt = meta["network_data_format"]
    for tensor in (fmt["inputs"]["image"], fmt["outputs"]["pred"]):
        assert [k for k in REQUIRED_TENSOR_FIELDS if k not in tensor] == []
        # the types meta_schema_20240725 asks for
        assert isinstance(tensor["num_channels"], int) and isinstance(tensor["is_patch_data"], bool)
        assert all(isinstance(v, (int, str)) for v in tensor["spatial_shape"]) and tensor["value_range"] == []
        assert isinstance(tensor["channel_def"], dict) and len(tensor["channel_def"]) == tensor["num_channels"]
    for key in ("schema", "version", "task", "description", "authors", "copyright"):
        assert isinstance(meta[key], str) and meta[key]
    assert isinstance(meta["required_packages_version"], dict) and isinstance(meta["changelog"], dict)
    assert fmt["inputs"]["image"]["channel_def"] == {"0": "flair", "1": "t1c"}
    assert fmt["inputs"]["image"]["modality"] == "MR"
    # BRATS classes, channel by channel: class k is written as class_values[k] = 0, 2, 1, 4
    assert fmt["outputs"]["pred"]["channel_def"] == {
        "0": "background (label 0)", "1": "edema (label 2)", "2": "necrosis + non-enhancing tumour (label 1)",
        "3": "enhancing tumour (label 4)",
    }  # fmt: skip
    assert meta["label_values"] == {"0": 0, "1": 2, "2": 1, "3": 4}
    assert "[loggers]" in (bundle / "configs/logging.conf").read_text()
    assert (bundle / "LICENSE").read_text().startswith("Model weights licence:")
    assert "Training data:" in (bundle / "docs/data_license.txt").read_text()


def test_bundle_verify_metadata(bundle, tmp_path):
    """`python -m monai.bundle verify_metadata` against MONAI's schema (needs jsonschema and the schema's URL)."""
    pytest.importorskip("jsonschema")
    proc = _monai("verify_metadata", "--meta_file", bundle / "configs/metadata.json", "--filepath", tmp_path / "schema.json")
    if not (tmp_path / "schema.json").is_file():
        pytest.skip("MONAI's metadata schema could not be downloaded (offline)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "metadata is verified with no error" in proc.stdout + proc.stderr


def test_bundle_ckpt_export_trace_equals_the_model(bundle, tiny_model, tmp_path):
    proc = _monai("ckpt_export", "network_def", "--filepath", tmp_path / "model.ts", "--ckpt_file", bundle / "models/model.pt",
                  "--meta_file", bundle / "configs/metadata.json", "--config_file", bundle / "configs/inference.json",
                  "--use_trace", "True", "--input_shape", "[1, 2, 64, 32, 32]")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ts = torch.jit.load(str(tmp_path / "model.ts"))
    x = torch.randn(1, 2, 64, 32, 32)
    with torch.no_grad():
        assert (ts(x) - tiny_model(x)).abs().max().item() < 1e-4


def _labelled_case(folder, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lab = np.zeros((40, 36, 30), np.uint8)
    lab[10:26, 10:22, 8:20] = 2
    lab[14:22, 12:18, 10:16] = 4
    lab[16:19, 14:16, 12:14] = 1
    imgs = []
    for i in range(2):
        img = rng.normal(size=lab.shape).astype(np.float32) + lab * (1.0 + i)
        nib.save(nib.Nifti1Image(img, AFFINE), folder / f"m{i}.nii.gz")
        imgs.append(f"{folder.name}/m{i}.nii.gz")
    nib.save(nib.Nifti1Image(lab, AFFINE), folder / "seg.nii.gz")
    return {"image": imgs, "label": f"{folder.name}/seg.nii.gz"}


def test_bundle_train_json_runs_one_step_with_monai(bundle, tmp_path):
    import json

    spec = {"training": [_labelled_case(tmp_path / "c0")], "validation": [_labelled_case(tmp_path / "c1", seed=1)]}
    (tmp_path / "datalist.json").write_text(json.dumps(spec))
    proc = _monai("run", "--config_file", bundle / "configs/train.json", "--bundle_root", bundle,
                  "--datalist_file", tmp_path / "datalist.json", "--max_steps", 1, "--ckpt_out", tmp_path / "ft.pt")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "step 1/1: loss" in proc.stdout
    before = torch.load(bundle / "models/model.pt", weights_only=True)
    after = torch.load(tmp_path / "ft.pt", weights_only=True)
    assert list(after) == list(before)
    assert any(not torch.equal(before[k], after[k]) for k in before)  # one AdamW step changed the weights
    monai_nets.SwinUNETR(**TINY).load_state_dict(after, strict=True)


def test_export_bundle_replaces_an_earlier_zoo_bundle_only(tmp_path, tiny_model):
    from zoo.medical.bundle import export_bundle, is_zoo_bundle

    folder = export_bundle(tiny_model, tmp_path / "b")
    (folder / "stale.txt").write_text("from the earlier export")
    assert is_zoo_bundle(folder)
    export_bundle(tiny_model, folder)  # an earlier zoo bundle is replaced as a whole, without --overwrite
    assert not (folder / "stale.txt").exists() and (folder / "models/model.pt").is_file()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="holds other files"):
        export_bundle(tiny_model, other)
    export_bundle(tiny_model, other, overwrite=True)
    assert not (other / "keep.txt").exists() and is_zoo_bundle(other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "mine"]  # no staging or backup folders left


# ----------------------------------------------------------------------------- training


def test_training_runs_in_train_mode_and_logs(tmp_path, tiny_model):
    import copy
    import json

    from zoo.medical.train import train

    spec = {"training": [_labelled_case(tmp_path / "c0")], "validation": [_labelled_case(tmp_path / "c1", seed=1)]}
    (tmp_path / "datalist.json").write_text(json.dumps(spec))
    model = copy.deepcopy(tiny_model).eval()
    modes = []
    model.register_forward_pre_hook(lambda m, a: modes.append((m.training, torch.is_grad_enabled())))
    _, summary = train(model, tmp_path / "datalist.json", tmp_path / "run", max_steps=1, val_every=1, num_samples=1,
                       progress=False, resume=None)  # fmt: skip
    assert (True, True) in modes  # the training step ran the network in train mode, with gradients
    assert (False, False) in modes  # validation: eval mode, no gradients
    assert summary["steps"] == 1
    assert (tmp_path / "run" / "last.ckpt").is_file()
    assert list((tmp_path / "run").glob("logs/version_*/metrics.csv")) and list((tmp_path / "run").glob("logs/version_*/hparams.yaml"))


def test_cli_finetune_keeps_its_run_dir_under_out_and_resumes(tmp_path):
    """`zoo finetune NAME --out DIR`: checkpoints, metrics.csv, hparams.yaml and the model in DIR; --resume continues."""
    import json

    from tests.bad_inputs import cli
    from zoo.hub import from_pretrained

    spec = {"training": [_labelled_case(tmp_path / "c0")], "validation": [_labelled_case(tmp_path / "c1", seed=1)]}
    (tmp_path / "datalist.json").write_text(json.dumps(spec))
    run = tmp_path / "run"
    common = ["--data", tmp_path / "datalist.json", "--out", run, "--no-progress", "--json"]
    last_line = lambda text: json.loads(text.strip().splitlines()[-1])  # noqa: E731 - Lightning prints its own lines first
    first = last_line(cli("finetune", "swin-unetr-brats-subset", "max_steps=1", "val_every=1", "num_samples=1", *common))
    assert first["steps"] == 1
    for rel in ("last.ckpt", "best.ckpt", "result.json", "model/config.json", "model/model.safetensors"):
        assert (run / rel).is_file(), rel
    assert list(run.glob("logs/version_0/metrics.csv")) and list(run.glob("logs/version_0/hparams.yaml"))
    second = last_line(cli("finetune", "swin-unetr-brats-subset", "max_steps=2", "val_every=1", "num_samples=1", *common, "--resume"))
    assert second["steps"] == 2  # continued from last.ckpt, not restarted
    assert [g["steps"] for g in second["segments"]] == [[1, 1], [2, 2]]  # the first fit and the resumed one
    assert from_pretrained(run / "model").config["model_args"]["out_channels"] == 4
