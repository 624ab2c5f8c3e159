"""The zoo's vision families in timm: timm's model contract (DiNAT/NAT/BiFormer registered by ``import zoo.vision``),
timm's own tests/test_models.py on them when that file has been fetched, and Swin folders timm loads without the zoo."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch

import zoo
import zoo.vision  # noqa: F401  (registers dinat_*, nat_*, biformer_* in timm)
from zoo.vision.biformer import BIFORMER_CONFIGS
from zoo.vision.dinat import DINAT_CONFIGS, NAT_CONFIGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from vision_timm_contract import timm_tests_path  # noqa: E402

TIMM_NAMES = ([f"dinat_{s}" for s in DINAT_CONFIGS] + [f"nat_{s}" for s in NAT_CONFIGS]
              + [f"biformer_{s}" for s in BIFORMER_CONFIGS])
# small stand-ins built through timm (same entrypoints, fewer blocks) so the contract checks stay fast
SMALL = {
    "dinat_mini": dict(depths=(1, 1, 1, 1), dilations=((1,), (2,), (1,), (1,))),
    "nat_mini": dict(depths=(1, 1, 1, 1)),
    "biformer_tiny": dict(depth=(1, 1, 1, 1)),
}
SIDE = {"dinat_mini": 64, "nat_mini": 64, "biformer_tiny": 224}


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def test_only_import_zoo_vision_registers_in_timm():
    code = ("import timm, zoo; a = timm.is_model('dinat_mini'); zoo.list_models(); b = timm.is_model('dinat_mini'); "
            "import zoo.vision; print(a, b, timm.list_models(['dinat_*', 'nat_*', 'biformer_*']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT, check=True)
    first, second, names = out.stdout.strip().split(" ", 2)
    assert (first, second) == ("False", "False")
    assert sorted(eval(names)) == sorted(TIMM_NAMES)


@pytest.mark.parametrize("name", TIMM_NAMES)
def test_pretrained_cfg_of_every_size(name):
    cfg = timm.models.get_pretrained_cfg(name)
    assert cfg.input_size == (3, 224, 224) and cfg.pool_size == (7, 7)
    assert cfg.mean == (0.485, 0.456, 0.406) and cfg.std == (0.229, 0.224, 0.225)
    assert cfg.classifier == "head" and cfg.num_classes == 1000
    assert bool(cfg.url) == (not name.startswith("biformer"))  # BiFormer's share links cannot be cached by name


@pytest.mark.parametrize("name", sorted(SMALL))
def test_timm_contract_on_small_variants(name):
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=5, **SMALL[name]).eval()
    assert model.pretrained_cfg["mean"] == (0.485, 0.456, 0.406)
    assert model.num_features == model.head_hidden_size > 0
    x = torch.randn(2, 3, SIDE[name], SIDE[name])
    with torch.no_grad():
        feats = model.forward_features(x)
        spatial = (1, 2) if model.output_fmt == "NHWC" else (2, 3)
        assert [feats.shape[d] for d in spatial] == [SIDE[name] // 32] * 2
        logits = model(x)
        assert logits.shape == (2, 5)
        torch.testing.assert_close(model.forward_head(feats, pre_logits=True), feats.mean(spatial))
        final, inter = model.forward_intermediates(x)
        torch.testing.assert_close(final, feats)
        info = model.feature_info
        assert [t.shape[1] for t in inter] == [f["num_chs"] for f in info]
        assert [SIDE[name] // t.shape[-1] for t in inter] == [f["reduction"] for f in info]
        model.set_grad_checkpointing()
        torch.testing.assert_close(model(x), logits)
    groups = model.group_matcher()
    assert set(groups) == {"stem", "blocks"}
    model.reset_classifier(0, "")
    with torch.no_grad():
        assert model(x).dim() == 4
    features = timm.create_model(name, features_only=True, out_indices=(1, 3), **SMALL[name]).eval()
    with torch.no_grad():
        maps = features(x)
    assert [m.shape[1] for m in maps] == features.feature_info.channels() == [info[1]["num_chs"], info[3]["num_chs"]]


def test_dinat_weights_load_with_identical_outputs_through_timm_class():
    """The zoo's dinat-cifar10 folder (official key format) gives the same logits in a timm-built DiNAT."""
    model = zoo.load("dinat-cifar10").eval()
    twin = timm.create_model("dinat_mini", pretrained=False, **{k: v for k, v in model.config.model_args.items()}).eval()
    twin.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))


def test_timm_own_model_tests_on_small_sizes():
    """timm's tests/test_models.py (fetched; see benchmarks/vision_timm_contract.py) on the smallest sizes."""
    path = timm_tests_path()
    if not path.is_file():
        pytest.skip(f"timm's tests/test_models.py is not fetched ({path}); run "
                    "`python benchmarks/vision_timm_contract.py --fetch` once")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "vision_timm_contract.py"), "--sizes", "mini", "tiny",
           "--families", "dinat", "biformer"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "failed" not in out.stdout


TIMM_ONLY = """
import sys, timm, torch
m = timm.create_model("local-dir:" + sys.argv[1], pretrained=True).eval()
x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    y = m(x)
assert not [k for k in sys.modules if k == "zoo" or k.startswith("zoo.")], "the zoo was imported"
torch.save({"logits": y, "cls": type(m).__module__, "labels": m.pretrained_cfg.get("label_names")}, sys.argv[2])
"""


def _small_swin(stem_widths=None, seed=0):
    """A small CIFAR-sized zoo Swin with random weights (seeded), with or without a convolutional tokenizer."""
    from zoo.vision.recipes import _PRE

    torch.manual_seed(seed)
    args = dict(img_size=32, patch_size=4, window_size=4, embed_dim=32, depths=[2, 2], num_heads=[2, 4], num_classes=10)
    if stem_widths is not None:
        args["stem_widths"] = stem_widths
    model = zoo.build("swin", args, dict(_PRE), name="swin-small-test").eval()
    for p in model.parameters():  # not the init's zeros/ones: every weight matters for the comparison
        p.data.add_(0.02 * torch.randn_like(p))
    return model


def test_plain_timm_loads_a_zoo_swin_folder_like_zoo(tmp_path):
    """A zoo Swin saved with save_pretrained is timm's own config.json: plain timm (no zoo import) loads it and
    gives the zoo's logits and class names."""
    from zoo.hub import from_pretrained, save_pretrained

    model = _small_swin()
    folder = save_pretrained(model, tmp_path / "swin-small")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["library_name"] == "timm" and cfg["zoo_architecture"] == "swin"
    assert cfg["architecture"] in timm.list_models("swin_*") and cfg["num_classes"] == 10
    subprocess.run([sys.executable, "-c", TIMM_ONLY, str(folder), str(tmp_path / "y.pt")], env=_env(), cwd=ROOT,
                   check=True, capture_output=True)
    got = torch.load(tmp_path / "y.pt")
    assert got["cls"] == "timm.models.swin_transformer"
    assert got["labels"][:2] == ["airplane", "automobile"]
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), got["logits"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(from_pretrained(folder)(x), got["logits"], rtol=1e-5, atol=1e-5)


def test_swin_with_conv_tokenizer_is_written_in_the_zoo_form(tmp_path):
    """timm's SwinTransformer has no convolutional tokenizer: such a folder is the zoo's form and round-trips."""
    from zoo.hub import from_pretrained, save_pretrained

    model = _small_swin(stem_widths=[16, 32])
    folder = save_pretrained(model, tmp_path / "swin-stem")
    cfg = json.loads((folder / "config.json").read_text())
    assert (cfg["architecture"], cfg["library_name"]) == ("swin", "attention-zoo")
    assert cfg["model_args"]["stem_widths"] == [16, 32] and "pretrained_cfg" not in cfg
    again = from_pretrained(folder)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(again(x), model(x))


def test_swin_hub_config_round_trip(tmp_path):
    from zoo.hub import from_pretrained, save_pretrained

    model = _small_swin()
    folder = save_pretrained(model, tmp_path / "copy", name="swin-small-copy")
    cfg = json.loads((Path(folder) / "config.json").read_text())
    assert (cfg["architecture"], cfg["zoo_architecture"], cfg["library_name"]) == (
        "swin_tiny_patch4_window7_224", "swin", "timm")
    assert cfg["model_args"]["embed_dim"] == 32 and cfg["pretrained_cfg"]["input_size"] == [3, 32, 32]
    again = from_pretrained(folder)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(again(x), model(x))
