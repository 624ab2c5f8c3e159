"""The endpoint handler (hub/handler.py) in-process on each task's bundled example and committed model folder."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest

from zoo.errors import InputError
from zoo.hub.handler import EndpointHandler

MODELS = "hub/models"


def b64(path: str) -> str:
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


@pytest.fixture(scope="module")
def handlers():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = EndpointHandler(f"{MODELS}/{name}")
        return cache[name]

    return get


def test_forecast_rows_in_rows_out(handlers):
    h = handlers("informer-etth1-h96")
    assert h.task == "forecasting"
    df = pd.read_csv("hub/assets/etth1-example.csv")
    out = h({"inputs": df.tail(96).to_dict("records")})
    json.dumps(out)  # JSON-serialisable
    assert len(out) == 96
    assert out[0]["date"] == "2018-02-21 00:00:00" and out[-1]["date"] == "2018-02-24 23:00:00"
    assert list(out[0]) == ["date", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    # the same numbers as the public API on the same history
    ref = h.model.forecast_df(df.assign(date=pd.to_datetime(df["date"])))
    assert np.allclose([r["OT"] for r in out], ref["OT"].to_numpy(), atol=1e-5)
    # a dict of columns gives the same answer
    cols = {k: list(v.values()) for k, v in df.tail(96).to_dict().items()}
    assert h({"inputs": cols}) == out


def test_forecast_bad_inputs(handlers):
    h = handlers("informer-etth1-h96")
    df = pd.read_csv("hub/assets/etth1-example.csv")
    with pytest.raises(InputError, match=r"history too short: the model needs seq_len=96 \w+, got 10"):
        h({"inputs": df.tail(10).to_dict("records")})
    with pytest.raises(InputError, match=r"lacks the model's columns \['OT'\]"):
        h({"inputs": df.drop(columns="OT").tail(96).to_dict("records")})
    with pytest.raises(InputError, match=r"column 'HUFL' must hold numbers"):
        h({"inputs": df.tail(96).assign(HUFL="x").to_dict("records")})
    with pytest.raises(InputError, match=r'expected a JSON object \{"inputs": \.\.\.\}, got \[\'data\'\]'):
        h({"data": []})


def test_image_classification_top5(handlers):
    from PIL import Image

    from zoo.vision.cli import predict

    h = handlers("swin-cifar10")
    out = h({"inputs": b64("hub/assets/cifar10-horse.jpg")})
    assert [r["label"] for r in out][:1] == ["horse"] and len(out) == 5
    scores = [r["score"] for r in out]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    ref = predict(h.model, [Image.open("hub/assets/cifar10-horse.jpg")])[0]
    assert [(n, round(p, 6)) for _, n, p in ref] == [(r["label"], r["score"]) for r in out]
    uri = "data:image/jpeg;base64," + b64("hub/assets/cifar10-horse.jpg")
    assert h({"inputs": uri, "parameters": {"top_k": 2}}) == out[:2]


def test_image_classification_bad_inputs(handlers):
    h = handlers("swin-cifar10")
    with pytest.raises(InputError, match=r"not valid base64"):
        h({"inputs": "not base64!"})
    with pytest.raises(InputError, match=r"the decoded 5 bytes are not an image"):
        h({"inputs": base64.b64encode(b"hello").decode()})
    with pytest.raises(InputError, match=r"parameters.top_k must be a positive integer, got 0"):
        h({"inputs": b64("hub/assets/cifar10-cat.jpg"), "parameters": {"top_k": 0}})


def test_speech_separation_returns_two_wavs(handlers):
    import soundfile as sf

    h = handlers("mossformer2-fsdd2mix")
    mix, rate = sf.read("hub/assets/fsdd-mixture.wav", dtype="float32")
    out = h({"inputs": b64("hub/assets/fsdd-mixture.wav")})
    assert [r["label"] for r in out] == ["speaker 1", "speaker 2"]
    tracks = [sf.read(io.BytesIO(base64.b64decode(r["blob"])), dtype="float32") for r in out]
    assert all(sr == rate and len(x) == len(mix) for x, sr in tracks)
    # the two tracks add back up to (a scaled copy of) the mixture, and differ from each other
    a, b = tracks[0][0], tracks[1][0]
    corr = np.corrcoef(a + b, mix)[0, 1]
    assert corr > 0.9, corr
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.8  # not one track twice (0.59 with the registered weights)
    # a 16 kHz upload comes back at 16 kHz
    buf = io.BytesIO()
    sf.write(buf, np.repeat(mix, 2), 16000, format="WAV")
    out16 = h({"inputs": base64.b64encode(buf.getvalue()).decode()})
    x16, sr16 = sf.read(io.BytesIO(base64.b64decode(out16[0]["blob"])))
    assert sr16 == 16000 and len(x16) == 2 * len(mix)


def test_speech_separation_bad_inputs(handlers):
    import soundfile as sf

    h = handlers("mossformer2-fsdd2mix")
    with pytest.raises(InputError, match=r"the decoded 5 bytes are not a WAV/FLAC/OGG file"):
        h({"inputs": base64.b64encode(b"hello").decode()})
    buf = io.BytesIO()
    sf.write(buf, np.zeros(800, np.float32), 8000, format="WAV")
    with pytest.raises(InputError, match=r"the recording is silent"):
        h({"inputs": base64.b64encode(buf.getvalue()).decode()})


def test_segmentation_label_volume(handlers, tmp_path):
    import nibabel as nib

    h = handlers("swin-unetr-brats-subset")
    files = {"flair": b64(_brats()[0]), "t1c": b64(_brats()[1])}
    out = h({"inputs": files})
    ref = nib.load(_brats()[0])
    assert out["shape"] == list(ref.shape) == [32, 43, 32]
    seg = tmp_path / "seg.nii.gz"
    seg.write_bytes(base64.b64decode(out["segmentation"]))
    img = nib.load(seg)
    labels = np.asarray(img.dataobj)
    assert np.allclose(img.affine, ref.affine)
    values, counts = np.unique(labels, return_counts=True)
    assert {str(int(v)): int(c) for v, c in zip(values, counts)} == out["labels"]
    assert set(out["labels"]) <= {"0", "1", "2", "4"} and "2" in out["labels"]  # edema found in the tumour crop
    # a list in modality order is the same request
    assert h({"inputs": [files["flair"], files["t1c"]]})["labels"] == out["labels"]


def test_segmentation_bad_inputs(handlers):
    h = handlers("swin-unetr-brats-subset")
    with pytest.raises(InputError, match=r"missing \['t1c'\], got \['flair'\]"):
        h({"inputs": {"flair": b64(_brats()[0])}})
    with pytest.raises(InputError, match=r"expected 2 base64 NIfTI volumes \(flair, t1c\), got 1"):
        h({"inputs": [b64(_brats()[0])]})


def test_molecule_prediction(handlers):
    h = handlers("gps-esol")
    out = h({"inputs": ["CCO", "c1ccccc1"]})
    ref = h.model.predict_smiles(["CCO", "c1ccccc1"])[:, 0].tolist()
    assert [r["smiles"] for r in out] == ["CCO", "c1ccccc1"]
    assert all(r["units"] == "log10(mol/L)" for r in out)
    key = "measured log solubility in mols per litre"
    assert [r[key] for r in out] == [round(v, 6) for v in ref]
    assert out[0][key] > out[1][key]  # ethanol dissolves better than benzene
    assert h({"inputs": "CCO"}) == out[:1]
    with pytest.raises(InputError, match=r"invalid SMILES 'C1CC\('"):
        h({"inputs": "C1CC("})
    with pytest.raises(InputError, match=r"must be a SMILES string or a list of them"):
        h({"inputs": 42})


def test_handler_file_works_copied_into_a_model_folder(tmp_path):
    """Inference Endpoints import ``handler.py`` from the model repository's root: the file stands alone."""
    import importlib.util
    import shutil

    folder = tmp_path / "gps-esol"
    shutil.copytree(f"{MODELS}/gps-esol", folder)
    shutil.copyfile("hub/handler.py", folder / "handler.py")
    spec = importlib.util.spec_from_file_location("handler", folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.EndpointHandler(str(folder))({"inputs": "CCO"})
    assert out[0]["smiles"] == "CCO" and out[0]["units"] == "log10(mol/L)"


def _brats():
    """The segmentation example, built from $ZOO_DATA_DIR (BRATS is never shipped); skips without the data."""
    from zoo.medical.demo import example_case

    files = example_case()
    if not files:
        pytest.skip("the BRATS subset is not under $ZOO_DATA_DIR")
    return [str(f) for f in files]
