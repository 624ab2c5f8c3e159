"""Swin: timm-identical state dict and logits, the offline Hub path, timm's config.json, input errors."""

from __future__ import annotations

import json

import pytest
import timm
import torch
from timm.models.swin_transformer import SwinTransformer as TimmSwin

import zoo
from zoo.errors import InputError
from zoo.vision.swin import SwinTransformer, checkpoint_filter_fn

SMALL = dict(patch_size=4, embed_dim=16, depths=(2, 2, 2), num_heads=(2, 2, 4), num_classes=7, drop_path_rate=0.0)


def _randomise_tables(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "relative_position_bias_table" in name:
                p.normal_(0, 1)


@pytest.mark.parametrize("img_size,window", [(64, 4), (56, 4), (48, 5)])
def test_small_config_matches_timm_forward_and_backward(img_size, window):
    """Shifted windows, padded grids (56 -> 14 with window 4, 48 -> 12 with window 5) and the
    window shrink of the last stage: same logits and same gradients as timm."""
    torch.manual_seed(0)
    ref = TimmSwin(img_size=img_size, window_size=window, **SMALL)
    _randomise_tables(ref)
    ours = SwinTransformer(img_size=img_size, window_size=window, **SMALL)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(2, 3, img_size, img_size)
    ref.eval(), ours.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)  # cached mask path
    ref.train(), ours.train()
    ref(x).square().sum().backward()
    ours(x).square().sum().backward()
    ref_grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, atol=1e-4, rtol=1e-4, msg=name)


def test_mask_cache_follows_weight_updates():
    torch.manual_seed(0)
    ref = TimmSwin(img_size=32, window_size=4, **SMALL).eval()
    ours = SwinTransformer(img_size=32, window_size=4, **SMALL).eval()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        ours(x)  # fill the cache
        _randomise_tables(ref)
        ours.load_state_dict(ref.state_dict())
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours(x[:1].repeat(3, 1, 1, 1)), ref(x).repeat(3, 1), atol=1e-5, rtol=1e-5)


def test_input_errors_are_clear():
    model = SwinTransformer(img_size=32, window_size=4, **SMALL).eval()
    with pytest.raises(InputError, match="expected 3 channels.*got 1"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(InputError, match="takes 32x32 inputs, got 40x40"):
        model(torch.randn(1, 3, 40, 40))
    with pytest.raises(InputError, match=r"image batch \[B, 3, H, W\]"):
        model(torch.randn(3, 32, 32))


def test_checkpoint_filter_drops_buffers_and_unwraps():
    sd = {"a": torch.zeros(1), "layers.1.blocks.0.attn.relative_position_index": torch.zeros(1),
          "layers.1.blocks.1.attn_mask": torch.zeros(1)}
    assert list(checkpoint_filter_fn({"model": sd})) == ["a"]
    with pytest.raises(ValueError, match="original Microsoft"):
        checkpoint_filter_fn({"layers.0.downsample.reduction.weight": torch.zeros(1)})


def _fake_timm_hub_cache(tmp_path, monkeypatch, repo_id, revision, state_dict):
    """A Hugging Face cache in the Hub's on-disk layout holding ``state_dict`` as model.safetensors."""
    import huggingface_hub.constants as hf_constants
    from safetensors.torch import save_file

    cache = tmp_path / "hf" / "hub"
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo_dir / "snapshots" / revision
    snap.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(snap / "model.safetensors"))
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return snap


def test_swin_tiny_from_offline_hub_cache_equals_timm(tmp_path, monkeypatch):
    """zoo.load("swin-tiny") resolves timm's Hub repo in a (fake, offline) HF cache; logits equal timm's;
    save_pretrained writes timm's config.json so timm itself loads the folder."""
    torch.manual_seed(0)
    ref = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval()
    _randomise_tables(ref)
    entry = zoo.registry.get_entry("swin-tiny")
    _fake_timm_hub_cache(tmp_path, monkeypatch, entry.weights.repo_id, entry.weights.revision, ref.state_dict())
    model = zoo.load("swin-tiny")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = ref(x)
        diff = (model(x) - expected).abs().max().item()
    assert diff <= 1e-4

    # preprocessing = timm's eval transform for the pretrained config
    want = timm.data.create_transform(**timm.data.resolve_data_config({}, model=ref))
    assert str(model.transform) == str(want)

    from zoo.hub import from_pretrained, save_pretrained

    folder = save_pretrained(model, tmp_path / "swin-tiny")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["architecture"] == "swin_tiny_patch4_window7_224"
    assert cfg["library_name"] == "timm" and cfg["pipeline_tag"] == "image-classification"
    assert cfg["num_classes"] == 1000 and cfg["pretrained_cfg"]["crop_pct"] == 0.9
    assert "model_args" not in cfg
    again = from_pretrained(folder)
    assert type(again) is type(model) and again.config.architecture == "swin_tiny_patch4_window7_224"
    for key, value in again.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key
    timm_model = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    with torch.no_grad():
        assert (timm_model(x) - expected).abs().max().item() <= 1e-4


def test_timm_hub_config_round_trip_with_own_classes():
    from zoo.vision.swin import from_timm_hub_config, to_timm_hub_config

    pre = {"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.9, "crop_mode": "center",
           "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "label_names": ["a", "b", "c"]}
    model = zoo.build("swin_tiny_patch4_window7_224", {"num_classes": 3}, pre)
    cfg = to_timm_hub_config(model)
    assert cfg["architecture"] == "swin_tiny_patch4_window7_224" and cfg["num_classes"] == 3
    assert cfg["label_names"] == ["a", "b", "c"] and cfg["pretrained_cfg"]["mean"] == [0.5, 0.5, 0.5]
    assert "model_args" not in cfg  # only arguments that differ from timm's defaults for that name
    args, back = from_timm_hub_config(json.loads(json.dumps(cfg)))
    assert args == {"num_classes": 3}
    assert back == pre
