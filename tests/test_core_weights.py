"""Weight resolution (repo folder → HF cache → error), sha256 checks and strict loading."""

from __future__ import annotations

import io

import pytest
import torch
from safetensors.torch import save

import zoo
from zoo.errors import WeightsIntegrityError, WeightsNotFoundError
from zoo.registry import ModelEntry, WeightsSource, register_model
from zoo.weights import read_state_dict, sha256_file

from .conftest import ToyMLP


def _weights_bytes(seed=0, **kw):
    torch.manual_seed(seed)
    model = ToyMLP(**kw)
    return model, save({k: v.contiguous() for k, v in model.state_dict().items()})


def _register(name, **weights):
    return register_model(ModelEntry(name=name, architecture="toy-mlp", domain="core", task="regression",
                                     weights=WeightsSource(**weights)))


def test_folder_first_then_cache(registry_sandbox, tmp_path, hf_cache):
    ref_folder, data_folder = _weights_bytes(seed=1)
    ref_hub, data_hub = _weights_bytes(seed=2)
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "model.safetensors").write_bytes(data_folder)
    hf_cache("org/toy", {"model.safetensors": data_hub}, commit="c" * 40)
    x = torch.randn(3, 4)

    _register("toy-w1", folder=str(tmp_path / "f"), repo_id="org/toy", revision="c" * 40)
    assert torch.equal(zoo.load("toy-w1")(x), ref_folder.eval()(x))

    _register("toy-w2", folder=str(tmp_path / "absent"), repo_id="org/toy", revision="c" * 40)
    assert torch.equal(zoo.load("toy-w2")(x), ref_hub.eval()(x))


def test_pinned_revision_is_respected(registry_sandbox, hf_cache):
    _, data = _weights_bytes()
    hf_cache("org/toy2", {"model.safetensors": data}, commit="a" * 40)
    _register("toy-w3", repo_id="org/toy2", revision="b" * 40)
    with pytest.raises(WeightsNotFoundError) as err:
        zoo.load("toy-w3")
    assert "org/toy2@" + "b" * 40 in str(err.value)


def test_nothing_found_says_what_was_tried(registry_sandbox, tmp_path, hf_cache):
    _register("toy-w4", folder=str(tmp_path / "missing"), repo_id="org/absent", revision="main")
    with pytest.raises(WeightsNotFoundError) as err:
        zoo.load("toy-w4")
    msg = str(err.value)
    assert "repository folder" in msg and "missing" in msg
    assert "Hugging Face Hub org/absent@main" in msg and "huggingface-cli download org/absent" in msg


def test_sha256_mismatch_and_truncation(registry_sandbox, tmp_path):
    _, data = _weights_bytes()
    f = tmp_path / "ok"
    f.mkdir()
    (f / "model.safetensors").write_bytes(data)
    good = sha256_file(f / "model.safetensors")
    _register("toy-w5", folder=str(f), sha256=good)
    zoo.load("toy-w5")  # verified

    _register("toy-w6", folder=str(f), sha256="0" * 64)
    with pytest.raises(WeightsIntegrityError, match="sha256 mismatch"):
        zoo.load("toy-w6")

    t = tmp_path / "trunc"
    t.mkdir()
    (t / "model.safetensors").write_bytes(data[: len(data) // 2])
    _register("toy-w7", folder=str(t))
    with pytest.raises(WeightsIntegrityError, match="corrupted or truncated"):
        zoo.load("toy-w7")


def test_strict_keys_and_shapes(registry_sandbox, tmp_path):
    _, data = _weights_bytes(hidden=16)  # shapes differ from the registered hidden=8
    f = tmp_path / "wide"
    f.mkdir()
    (f / "model.safetensors").write_bytes(data)
    register_model(ModelEntry(name="toy-w8", architecture="toy-mlp", domain="core", task="regression",
                              model_args={"hidden": 8}, weights=WeightsSource(folder=str(f))))
    with pytest.raises(WeightsIntegrityError, match=r"shape mismatches \(e\.g\. fc1\.weight: model \(8, 4\) vs file \(16, 4\)"):
        zoo.load("toy-w8")

    model, _ = _weights_bytes()
    sd = dict(model.state_dict())
    sd.pop("norm.weight")
    sd["extra.bias"] = torch.zeros(1)
    g = tmp_path / "keys"
    g.mkdir()
    (g / "model.safetensors").write_bytes(save({k: v.contiguous() for k, v in sd.items()}))
    _register("toy-w9", folder=str(g))
    with pytest.raises(WeightsIntegrityError, match=r"1 missing keys \(e\.g\. norm\.weight\), 1 unexpected keys \(e\.g\. extra\.bias\)"):
        zoo.load("toy-w9")


def test_upstream_pickle_is_read_weights_only(tmp_path):
    model, _ = _weights_bytes()
    p = tmp_path / "ckpt.pth"
    torch.save({"model": model.state_dict()}, p)
    assert torch.equal(read_state_dict(p)["model"]["fc1.weight"], model.fc1.weight)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf)
    (tmp_path / "evil.pth").write_bytes(buf.getvalue())
    with pytest.raises(WeightsIntegrityError, match="could not be read as a torch checkpoint"):
        read_state_dict(tmp_path / "evil.pth")
    (tmp_path / "w.npz").write_bytes(b"x")
    with pytest.raises(WeightsIntegrityError, match="expected a .safetensors file"):
        read_state_dict(tmp_path / "w.npz")
