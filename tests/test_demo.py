"""`zoo demo` without a browser: each page's callbacks, the app layout, the CLI, the Space folder and widgets."""

from __future__ import annotations

import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

gr = pytest.importorskip("gradio", reason="the demo pages need gradio (pip install gradio)")

import zoo  # noqa: E402
from zoo.demo import asset, build_app, main, resolve, user_errors  # noqa: E402
from zoo.errors import InputError, UnknownModelError  # noqa: E402

ASSETS = ("etth1-example.csv", "cifar10-cat.jpg", "fsdd-mixture.wav")


@pytest.fixture(scope="module")
def models():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = zoo.load(name)
        return cache[name]

    return get


def elem_ids(app) -> set[str]:
    return {b.elem_id for b in app.blocks.values() if getattr(b, "elem_id", None)}


# ------------------------------------------------------------------------------------------ the core
def test_bundled_examples_are_small_and_present():
    for name in ASSETS:
        path = asset(name)
        assert path.is_file(), path
        assert path.stat().st_size < 200_000, (name, path.stat().st_size)


@pytest.mark.parametrize(
    "name, domain, ids",
    [
        ("informer-etth1", "timeseries", {"history-csv", "run", "forecast-plot", "forecast-table", "forecast-download"}),
        ("swin-cifar10", "vision", {"image", "run", "labels"}),
        ("mossformer2-fsdd2mix", "audio", {"mixture", "run", "track-1", "track-2", "waveforms"}),
        ("swin-unetr-brats-subset", "medical", {"volume-0", "volume-1", "run", "overlay", "slice", "labels-download"}),
        ("gps-esol", "graph", {"smiles", "run", "prediction", "molecule"}),
    ],
)
def test_build_app_lays_out_each_task(name, domain, ids):
    model, found, title = resolve(name)
    assert found == domain
    app = build_app(name)
    assert isinstance(app, gr.Blocks)
    assert ids <= elem_ids(app), ids - elem_ids(app)
    assert app.title == title


def test_build_app_from_a_folder_and_an_unknown_name():
    model, domain, title = resolve("hub/models/gps-esol")
    assert (domain, title) == ("graph", "gps-esol")
    assert {"smiles", "prediction"} <= elem_ids(build_app("hub/models/gps-esol"))
    with pytest.raises(UnknownModelError, match=r"unknown model 'gps-esl'.*gps-esol"):
        build_app("gps-esl")


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"is a folder without config.json: expected a model folder in Hub form"):
        resolve(tmp_path)


def test_main_reports_bad_arguments(capsys):
    assert main(["gps-esl"]) == 2
    assert "zoo demo: error: unknown model 'gps-esl'" in capsys.readouterr().err
    assert main(["gps-esol", "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535, got 70000" in capsys.readouterr().err


def test_user_errors_become_page_messages():
    def bad():
        raise InputError("expected a CSV, got a WAV")

    with pytest.raises(gr.Error, match="expected a CSV, got a WAV"):
        user_errors(bad)()
    with pytest.raises(ZeroDivisionError):  # a bug is not dressed up as a user error
        user_errors(lambda: 1 / 0)()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_m_zoo_demo_serves_the_page():
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "zoo.demo", "gps-esol", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as r:
                    config = json.loads(r.read())
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.time() < deadline, "zoo demo did not serve within 120 s"
                time.sleep(1)
        assert config["title"] == "gps-esol"
        ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
        assert {"smiles", "run", "prediction", "molecule"} <= ids
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -------------------------------------------------------------------------------------- forecasting
def test_forecast_csv_matches_the_api(models, tmp_path):
    from zoo.timeseries.demo import example_inputs, forecast_csv

    model = models("informer-etth1")
    (path,) = example_inputs(model)
    fig, table, csv, note = forecast_csv(model, path, "OT")
    ref = model.forecast_df(pd.read_csv(path, parse_dates=["date"]))
    assert len(table) == model.pred_len == 96
    assert np.allclose(table["OT"], ref["OT"].round(4), atol=1e-6)
    assert table["date"].iloc[0] == "2018-02-21 00:00:00"
    again = pd.read_csv(csv, parse_dates=["date"])
    assert np.allclose(again["HUFL"], ref["HUFL"], rtol=1e-5)
    assert note.startswith("Forecast of the 96 steps after 2018-02-20 23:00:00 from the last 96 rows (336 rows given)")
    assert fig.axes[0].get_ylabel() == "OT"


def test_forecast_csv_bad_files(models, tmp_path):
    from zoo.timeseries.demo import forecast_csv

    model = models("informer-etth1")
    no_date = tmp_path / "no_date.csv"
    no_date.write_text("time,HUFL\n1,2\n")
    with pytest.raises(InputError, match=r"DataFrame needs a 'date' column, has \['time', 'HUFL'\]"):
        forecast_csv(model, no_date)
    cols = tmp_path / "cols.csv"
    cols.write_text("date,a\n2020-01-01,1\n")
    with pytest.raises(InputError, match=r"lacks the model's columns \['HUFL', 'HULL'"):
        forecast_csv(model, cols)
    with pytest.raises(InputError, match=r"fsdd-mixture.wav is not a readable CSV"):
        forecast_csv(model, asset("fsdd-mixture.wav"))
    bad_dates = tmp_path / "dates.csv"
    bad_dates.write_text("date,HUFL\nmonday,1\n")
    with pytest.raises(InputError, match=r"the 'date' column of dates.csv holds values that are not dates"):
        forecast_csv(model, bad_dates)
    with pytest.raises(InputError, match=r"no CSV given"):
        forecast_csv(model, None)


# ------------------------------------------------------------------------------------------- vision
def test_classify_top5(models):
    from PIL import Image

    from zoo.vision.cli import predict
    from zoo.vision.demo import classify

    model = models("swin-cifar10")
    with Image.open(asset("cifar10-horse.jpg")) as im:
        out = classify(model, im)
    assert list(out)[0] == "horse" and len(out) == 5
    ref = predict(model, [str(asset("cifar10-horse.jpg"))])[0]
    assert list(out.items()) == [(n, round(p, 6)) for _, n, p in ref]
    gray = Image.new("L", (50, 70), 128)  # any size and mode is accepted
    assert len(classify(model, gray)) == 5
    with pytest.raises(InputError, match="no image given"):
        classify(model, None)


# -------------------------------------------------------------------------------------------- audio
def test_separate_array_any_rate_and_channels(models):
    import soundfile as sf

    from zoo.audio.demo import separate_array, to_float_mono

    model = models("mossformer2-fsdd2mix")
    pcm, rate = sf.read(asset("fsdd-mixture.wav"), dtype="int16")
    x, note = to_float_mono(pcm)
    assert x.dtype == np.float32 and np.allclose(x, pcm / 32767, atol=1e-6) and note == ""
    out_rate, tracks, note = separate_array(model, rate, pcm)
    assert out_rate == 8000 and tracks.shape == (2, len(pcm))
    assert note == "Separated 0.50 s into 2 tracks at 8000 Hz."
    stereo16k = np.repeat(np.stack([pcm, pcm], 1), 2, axis=0)
    out_rate, tracks16, note = separate_array(model, 16000, stereo16k)
    assert note.startswith("2 channels mixed down to mono. Resampled from 16000 Hz to the model's 8000 Hz.")
    assert tracks16.shape == (2, len(pcm))
    with pytest.raises(InputError, match=r"sample rate of the recording must be an integer between 1000 and 384000 Hz, got 10"):
        separate_array(model, 10, pcm)
    with pytest.raises(InputError, match=r"the recording is silent"):
        separate_array(model, 8000, np.zeros(4000, np.int16))


# ------------------------------------------------------------------------------------------ medical
def test_segment_files_and_slice_viewer(models):
    from zoo.medical.demo import COLOURS, example_inputs, render_slice, segment_files

    model = models("swin-unetr-brats-subset")
    files = example_inputs(model)
    assert [Path(f).name for f in files] == ["brats-flair.nii.gz", "brats-t1c.nii.gz"]
    state, path, summary = segment_files(model, files)
    assert state["labels"].shape == (32, 43, 32) and Path(path).name == "segmentation.nii.gz"
    assert "edema (label 2)" in summary and summary.endswith("Grid (32, 43, 32), voxel (3.0, 3.0, 3.0) mm.")
    rgb = render_slice(state, state["best"])
    assert rgb.dtype == np.uint8 and rgb.shape == (430, 320, 3)  # 43 x 32 voxels, enlarged 10x, rotated
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    c = COLOURS[2]  # half grey + half the edema colour: channel differences are half the colour's
    edema = (abs(g - r - (c[1] - c[0]) / 2) <= 1) & (abs(g - b - (c[1] - c[2]) / 2) <= 1)
    assert edema.mean() > 0.05  # edema is drawn in its colour on the slice with the most tumour
    assert render_slice(state, 10_000).shape == rgb.shape  # out-of-range slider values are clamped
    assert render_slice(None, 3) is None
    with pytest.raises(InputError, match=r"this model takes 2 volumes \(flair, t1c\); missing: t1c"):
        segment_files(model, [files[0], None])


# -------------------------------------------------------------------------------------------- graph
def test_predict_one_and_invalid_smiles(models):
    from zoo.graph.demo import predict_one

    model = models("gps-esol")
    text, image = predict_one(model, " CCO ")
    value = float(model.predict_smiles(["CCO"])[0, 0])
    assert text == f"**CCO** (ethanol)\n- measured log solubility in mols per litre: **{value:.3f}** log10(mol/L)"
    assert image.size == (360, 360)
    with pytest.raises(InputError, match=r"invalid SMILES 'C1CC\('"):
        predict_one(model, "C1CC(")
    with pytest.raises(InputError, match=r"no SMILES given"):
        predict_one(model, "  ")


def test_classification_molecules_show_probabilities(models):
    from zoo.graph.demo import predict_one

    text, _ = predict_one(models("gps-bbbp"), "CCO")
    assert "(probability of blood-brain barrier penetration)" in text


# -------------------------------------------------------------------------------------------- Space
def test_space_folder_runs_zoo_demo_code(tmp_path, monkeypatch):
    from zoo.hub.space import write_space

    folder = write_space("gps-esol", tmp_path / "space")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "app.py", "requirements.txt"]
    assert (folder / "requirements.txt").read_text() == f"attention-zoo=={zoo.__version__}\n"
    readme = (folder / "README.md").read_text()
    header = readme.split("---")[1]
    assert "\nsdk: gradio\n" in header and "\napp_file: app.py\n" in header and f"sdk_version: {gr.__version__}" in header
    launched = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, *a, **k: launched.append(self))
    ns = runpy.run_path(str(folder / "app.py"), run_name="__main__")
    assert ns["MODEL"] == "gps-esol" and launched == [ns["demo"]]
    assert elem_ids(ns["demo"]) == elem_ids(build_app("gps-esol"))


def test_space_pulls_the_model_repo_and_protects_folders(tmp_path):
    from zoo.hub.space import write_space

    folder = write_space("gps-esol", tmp_path / "s", repo_id="my-org/gps-esol")
    assert 'MODEL = "my-org/gps-esol"' in (folder / "app.py").read_text()
    assert "models:\n  - my-org/gps-esol\n" in (folder / "README.md").read_text()
    write_space("gps-esol", folder, repo_id="my-org/gps-esol-v2")  # its own Space folder: rewritten
    assert 'MODEL = "my-org/gps-esol-v2"' in (folder / "app.py").read_text()
    other = tmp_path / "project"
    other.mkdir()
    (other / "app.py").write_text("print('mine')\n")
    with pytest.raises(InputError, match=r"already holds app.py: refusing to write a Space there"):
        write_space("gps-esol", other)
    assert (other / "app.py").read_text() == "print('mine')\n"
    with pytest.raises(InputError, match=r"repo_id must look like 'org/name', got 'gps-esol'"):
        write_space("gps-esol", tmp_path / "t", repo_id="gps-esol")
    assert not (tmp_path / "t").exists()


# ------------------------------------------------------------------------------------------ widgets
def test_widgets_carry_the_models_outputs(models, tmp_path):
    from zoo.hub.widgets import widget_examples
    from zoo.vision.demo import classify

    w = widget_examples("swin-cifar10", repo_id="my-org/swin-cifar10", files_dir=tmp_path)
    assert [e["example_title"] for e in w] == ["cat", "ship", "horse", "automobile"]
    assert w[0]["src"] == "https://huggingface.co/my-org/swin-cifar10/resolve/main/examples/cifar10-cat.jpg"
    assert (tmp_path / "examples/cifar10-cat.jpg").read_bytes() == asset("cifar10-cat.jpg").read_bytes()
    ref = classify(models("swin-cifar10"), str(asset("cifar10-horse.jpg")))
    assert w[2]["output"] == [{"label": k, "score": round(v, 4)} for k, v in ref.items()]

    a = widget_examples("hub/models/mossformer2-fsdd2mix", files_dir=tmp_path)
    assert a[0]["src"] == "examples/fsdd-mixture.wav"
    assert [o["url"] for o in a[0]["output"]] == ["examples/fsdd-mixture-speaker1.wav", "examples/fsdd-mixture-speaker2.wav"]
    assert all((tmp_path / o["url"]).stat().st_size > 1000 for o in a[0]["output"])

    g = widget_examples("gps-esol")
    value = float(models("gps-esol").predict_smiles(["CCO"])[0, 0])
    assert g[0] == {"text": "CCO", "example_title": "ethanol", "output": {"text": f"{value:.3f} log10(mol/L)"}}
    with pytest.raises(InputError, match=r"a dict needs 'folder' or 'name', got keys \['x'\]"):
        widget_examples({"x": 1})


def test_add_widget_examples_stores_them_and_renders_the_card(models, tmp_path):
    import shutil

    from zoo.hub.widgets import widget_examples
    from zoo.promote import add_widget_examples

    folder = tmp_path / "swin-cifar10"
    shutil.copytree("hub/models/swin-cifar10", folder)
    config = json.loads((folder / "config.json").read_text())
    config["card"].pop("widget", None)
    (folder / "config.json").write_text(json.dumps(config))
    got = add_widget_examples(folder)
    assert got == widget_examples(str(folder)) and [e["example_title"] for e in got][:1] == ["cat"]
    assert json.loads((folder / "config.json").read_text())["card"]["widget"] == got
    assert (folder / "examples/cifar10-cat.jpg").is_file() and "example_title: cat" in (folder / "README.md").read_text()


def test_a_hub_repo_id_is_loaded_with_from_pretrained(monkeypatch):
    import zoo.hub

    calls = []

    def fake(repo_id, *a, **k):
        calls.append(repo_id)
        return zoo.load("gps-esol")

    monkeypatch.setattr(zoo.hub, "from_pretrained", fake)
    model, domain, title = resolve("my-org/gps-esol")
    assert calls == ["my-org/gps-esol"] and (domain, title) == ("graph", "my-org/gps-esol")
    with pytest.raises(UnknownModelError, match=r"unknown model 'not-a-model'"):
        resolve("not-a-model")  # neither registered nor 'org/name'
    assert calls == ["my-org/gps-esol"]
