"""Forecasting domain: LTSF protocol, time features, user API, registered weights, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import zoo
from zoo.errors import InputError, WeightsIntegrityError
from zoo.timeseries.data import ETT_SHA256, ForecastDataModule, borders, download_ett, time_features, verify_csv

DATA_DIR = Path(os.environ.get("ZOO_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
ETTH1 = DATA_DIR / "timeseries" / "ETTh1.csv"
needs_etth1 = pytest.mark.skipif(not ETTH1.is_file(), reason=f"ETTh1.csv not found under {DATA_DIR} (set ZOO_DATA_DIR)")


@pytest.fixture(scope="module")
def dm96():
    dm = ForecastDataModule(str(ETTH1), seq_len=96, label_len=48, pred_len=96, features="M")
    dm.setup()
    return dm


# ----------------------------------------------------------------------------- protocol
def test_borders_pinned():
    assert borders("ETTh1", 17420, 96) == ([0, 8544, 11424], [8640, 11520, 14400])
    assert borders("ETTm2", 69680, 96) == ([0, 34464, 45984], [34560, 46080, 57600])
    # other sets: 70/10/20, val/test starting seq_len early
    assert borders("weather", 1000, 24) == ([0, 676, 776], [700, 800, 1000])


@needs_etth1
def test_etth1_windows_and_scaler(dm96):
    raw = pd.read_csv(ETTH1)
    cols = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert dm96.columns == cols and dm96.freq == "h"
    train = raw[cols].to_numpy()[:8640]
    np.testing.assert_allclose(dm96.mean, train.mean(0), rtol=1e-12)
    np.testing.assert_allclose(dm96.std, train.std(0, ddof=0), rtol=1e-12)  # StandardScaler: population std
    # window counts: rows - seq_len - pred_len + 1, every test window kept
    assert (len(dm96.train_set), len(dm96.val_set), len(dm96.test_set)) == (8449, 2785, 2785)
    assert sum(len(b[0]) for b in dm96.test_dataloader()) == 2785
    x, y, xm, ym = dm96.test_set[0]
    expect = (raw[cols].to_numpy()[11424:11520] - dm96.mean) / dm96.std
    np.testing.assert_allclose(x.numpy(), expect, rtol=1e-5, atol=1e-5)
    # y: the last label_len input rows then the horizon
    np.testing.assert_allclose(y[:48].numpy(), x[-48:].numpy())
    expect_y = (raw[cols].to_numpy()[11520:11616] - dm96.mean) / dm96.std
    np.testing.assert_allclose(y[48:].numpy(), expect_y, rtol=1e-5, atol=1e-5)
    last_x, last_y, _, _ = dm96.test_set[len(dm96.test_set) - 1]
    np.testing.assert_allclose(last_y[-1].numpy(), (raw[cols].to_numpy()[14399] - dm96.mean) / dm96.std, rtol=1e-5)
    np.testing.assert_allclose(xm[0].numpy(), time_features(pd.to_datetime(raw["date"][11424:11425]), "h")[0])


@needs_etth1
def test_features_s_and_ms():
    s = ForecastDataModule(str(ETTH1), seq_len=96, label_len=48, pred_len=24, features="S")
    s.setup()
    ms = ForecastDataModule(str(ETTH1), seq_len=96, label_len=48, pred_len=24, features="MS")
    ms.setup()
    assert s.columns == ["OT"] and s.test_set[0][0].shape == (96, 1)
    assert ms.out_columns == ["OT"] and ms.test_set[0][0].shape == (96, 7)
    np.testing.assert_allclose(s.test_set[0][0][:, 0].numpy(), ms.test_set[0][0][:, -1].numpy(), rtol=1e-6)


def test_custom_csv_split_and_target_last(tmp_path):
    dates = pd.date_range("2020-01-01", periods=200, freq="D")
    df = pd.DataFrame({"date": dates, "y": np.arange(200.0), "a": np.sin(np.arange(200.0)), "b": 2.0})
    f = tmp_path / "mine.csv"
    df.to_csv(f, index=False)
    dm = ForecastDataModule(str(f), seq_len=20, label_len=10, pred_len=5, target="y")
    dm.setup()
    assert dm.columns == ["a", "b", "y"] and dm.freq == "D"
    assert dm.borders == ([0, 120, 140], [140, 160, 200])
    np.testing.assert_allclose(dm.mean[2], np.arange(140.0).mean())
    assert dm.std[1] == 1.0  # constant column: no division by zero
    assert len(dm.test_set) == 60 - 20 - 5 + 1


def test_time_features_pinned():
    ts = pd.to_datetime(["2016-07-01 00:00", "2016-12-31 23:00"])
    f = time_features(ts, "h")
    # hour/23, weekday/6, (day-1)/30, (dayofyear-1)/365, minus 0.5
    np.testing.assert_allclose(f[0], [-0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5], rtol=1e-6)
    np.testing.assert_allclose(f[1], [0.5, 5 / 6 - 0.5, 0.5, 365 / 365 - 0.5], rtol=1e-6)
    assert time_features(pd.to_datetime(["2016-07-01 00:15"]), "15min").shape == (1, 5)


def test_sha256_check_offline(tmp_path, monkeypatch):
    f = tmp_path / "ETTh1.csv"
    f.write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    with pytest.raises(WeightsIntegrityError, match="sha256"):
        verify_csv(f, "ETTh1")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="offline"):
        download_ett("ETTh1")  # never touches the network when offline
    if ETTH1.is_file():  # a cached, correct file is accepted; a tampered one is refused
        (tmp_path / "cache" / "data").mkdir(parents=True)
        cached = tmp_path / "cache" / "data" / "ETTh1.csv"
        cached.write_bytes(ETTH1.read_bytes())
        assert download_ett("ETTh1") == cached and len(ETT_SHA256["ETTh1"]) == 64
        cached.write_bytes(ETTH1.read_bytes()[:-10])
        with pytest.raises(WeightsIntegrityError):
            download_ett("ETTh1")


# ----------------------------------------------------------------------------- user API
def _tiny(arch: str, dm: ForecastDataModule, **kw):
    args = {"seq_len": 96, "label_len": 48, "pred_len": dm.pred_len, "enc_in": 7, "freq": "h", **kw}
    if arch in ("informer", "autoformer"):
        args.update(dec_in=7, c_out=7, d_model=16, n_heads=2, d_ff=32)
    torch.manual_seed(0)
    return zoo.build(arch, args, dm.preprocessing(), name=f"tiny-{arch}").eval()


@needs_etth1
@pytest.mark.parametrize("arch", ["informer", "autoformer", "dlinear", "nlinear"])
def test_forecast_original_units_equals_manual_scaling(dm96, arch):
    model = _tiny(arch, dm96)
    raw = dm96.frame
    cols = dm96.columns
    starts = [0, 7, 500]
    xs = np.stack([raw[cols].to_numpy()[11424 + s : 11520 + s] for s in starts])
    ts = np.stack([raw["date"].to_numpy()[11424 + s : 11520 + s] for s in starts])
    got = model.forecast(xs, ts)
    assert got.dtype == torch.float32 and got.shape == (3, 96, 7)
    # manual: the DataModule's standardised windows and marks through forward, then unscale
    batch = [torch.stack(t) for t in zip(*[dm96.test_set[s] for s in starts])]
    from zoo.timeseries.task import predict_batch

    with torch.no_grad():
        out, _ = predict_batch(model, batch)
    manual = out.double().numpy() * dm96.std + dm96.mean
    np.testing.assert_allclose(got.numpy(), manual, rtol=1e-4, atol=1e-4)
    # unbatched input and torch input give the same answer
    one = model.forecast(torch.from_numpy(xs[1]), ts[1])
    np.testing.assert_allclose(one[0].numpy(), got[1].numpy(), rtol=1e-5, atol=1e-5)
    # forecast_df: future timestamps follow the last row hourly
    df = raw.iloc[11424:11520]
    fut = model.forecast_df(df)
    assert list(fut.columns) == ["date", *cols]
    assert fut["date"].iloc[0] == raw["date"].iloc[11520] and fut["date"].iloc[-1] == raw["date"].iloc[11615]
    np.testing.assert_allclose(fut[cols].to_numpy(), got[0].numpy(), rtol=1e-5, atol=1e-5)


def _fake_model():
    pre = {"columns": ["a", "b"], "out_columns": ["a", "b"], "features": "M", "target": "b", "freq": "h",
           "scaler_mean": [1.0, 2.0], "scaler_std": [2.0, 4.0], "dataset": "toy"}
    args = {"seq_len": 8, "label_len": 4, "pred_len": 3, "enc_in": 2, "freq": "h", "d_model": 8, "n_heads": 2,
            "d_ff": 8, "dec_in": 2, "c_out": 2}
    return zoo.build("informer", args, pre).eval()


def test_bad_inputs_raise_clear_errors():
    m = _fake_model()
    ts = pd.date_range("2021-01-01", periods=8, freq="h").to_numpy()
    x = np.random.default_rng(0).normal(size=(8, 2))
    assert m.forecast(x, ts).shape == (1, 3, 2)
    with pytest.raises(InputError, match="seq_len=8.*got 5"):
        m.forecast(x[:5], ts[:5])
    with pytest.raises(InputError, match="3 columns, the model expects 2"):
        m.forecast(np.zeros((8, 3)), ts)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN or inf"):
        m.forecast(bad, ts)
    bad[3, 1] = np.inf
    with pytest.raises(InputError, match="NaN or inf"):
        m.forecast(bad, ts)
    with pytest.raises(InputError, match="strictly increasing"):
        m.forecast(x, ts[::-1])
    with pytest.raises(InputError, match="frequency 'h'.*0 days 00:30:00"):
        m.forecast(x, pd.date_range("2021-01-01", periods=8, freq="30min").to_numpy())
    with pytest.raises(InputError, match="pass past_timestamps"):
        m.forecast(x)
    with pytest.raises(InputError, match="lacks the model's columns"):
        m.forecast_df(pd.DataFrame({"date": ts, "a": x[:, 0]}))


def test_config_exposes_data_facts():
    m = _fake_model()
    c = m.config
    assert (c.seq_len, c.label_len, c.pred_len, c.features, c.target, c.freq) == (8, 4, 3, "M", "b", "h")
    assert c.columns == ["a", "b"] and c.scaler_mean == [1.0, 2.0] and c.scaler_std == [2.0, 4.0]


def test_informer_eval_is_deterministic_and_batch_independent():
    m = _fake_model()
    x = torch.randn(4, 8, 2)
    mark = torch.zeros(4, 8, 4)
    y_mark = torch.zeros(4, 7, 4)
    dec = torch.cat([x[:, -4:], torch.zeros(4, 3, 2)], 1)
    with torch.no_grad():
        a = m(x, mark, dec, y_mark)
        b = m(x[1:2], mark[1:2], dec[1:2], y_mark[1:2])
    torch.testing.assert_close(a[1:2], b)


# ----------------------------------------------------------------------------- registered weights
TS_MODELS = zoo.list_models(domain="timeseries")


def test_registry_has_the_etth1_family():
    for arch in ("informer", "autoformer", "dlinear"):
        for h in (96, 192, 336, 720):
            assert f"{arch}-etth1-h{h}" in TS_MODELS
        assert zoo.info(f"{arch}-etth1")["name"] == f"{arch}-etth1-h96"


@needs_etth1
@pytest.mark.parametrize("name", TS_MODELS)
def test_registered_model_reproduces_card(name):
    """Offline load, then the card's test MSE (h96: full split through `forecast`; others: first 128 windows)."""
    model = zoo.load(name)
    info = zoo.info(name)
    card = {m["name"]: m["value"] for m in info["metrics"]}
    cfg = model.config
    dm = ForecastDataModule(str(ETTH1), seq_len=cfg.seq_len, label_len=cfg.label_len, pred_len=cfg.pred_len)
    dm.setup()
    if name in ("informer-etth1-h96", "autoformer-etth1-h96", "dlinear-etth1-h96"):  # through `forecast`
        raw = dm.frame[dm.columns].to_numpy()
        dates = dm.frame["date"].to_numpy()
        start = 11520 - cfg.seq_len
        idx = np.arange(len(dm.test_set))
        win = idx[:, None] + np.arange(cfg.seq_len)[None] + start
        pred = model.forecast(raw[win], dates[win]).double().numpy()
        fut = idx[:, None] + np.arange(cfg.pred_len)[None] + 11520
        err = (pred - raw[fut]) / np.asarray(cfg.scaler_std)
        assert abs(float((err**2).mean()) - card["mse"]) < 5e-4
        assert abs(float(np.abs(err).mean()) - card["mae"]) < 5e-4
    else:
        from torch.utils.data import DataLoader, Subset

        from zoo.timeseries.task import evaluate

        res = evaluate(model, DataLoader(Subset(dm.test_set, range(128)), batch_size=256))
        assert abs(res["mse"] - info["extra"]["check_first_128_mse"]) < 5e-4


# ----------------------------------------------------------------------------- time zones, modes
def test_tz_aware_timestamps_use_local_wall_clock_time():
    """A tz-aware history forecasts like the same wall-clock times without a zone (not converted to UTC);
    forecast_df returns future dates in the input's zone."""
    m = _fake_model()
    x = np.random.default_rng(0).normal(size=(8, 2))
    naive = pd.date_range("2021-06-01 09:00", periods=8, freq="h")
    aware = naive.tz_localize("Asia/Shanghai")
    ref = m.forecast(x, naive.to_numpy())
    torch.testing.assert_close(m.forecast(x, aware), ref, rtol=0, atol=0)
    torch.testing.assert_close(m.forecast(x, aware.astype(str).tolist()), ref, rtol=0, atol=0)  # '...+08:00' strings
    utc = m.forecast(x, aware.tz_convert("UTC").tz_localize(None).to_numpy())  # what a UTC conversion would give
    assert not torch.equal(utc, ref)
    fut = m.forecast_df(pd.DataFrame({"date": aware, "a": x[:, 0], "b": x[:, 1]}))
    assert str(fut["date"].dt.tz) == "Asia/Shanghai" and fut["date"].iloc[0] == pd.Timestamp("2021-06-01 17:00", tz="Asia/Shanghai")
    np.testing.assert_array_equal(fut[["a", "b"]].to_numpy(), ref[0].numpy())


def test_forecast_and_evaluate_restore_the_train_mode():
    from torch.utils.data import DataLoader, TensorDataset

    from zoo.timeseries.task import evaluate

    m = _fake_model().train()
    m.forecast(np.zeros((8, 2)), pd.date_range("2021-01-01", periods=8, freq="h"))
    assert all(mod.training for mod in m.modules())
    x = torch.randn(4, 8, 2)
    batch = (x, torch.randn(4, 7, 2), torch.zeros(4, 8, 4), torch.zeros(4, 7, 4))
    res = evaluate(m, DataLoader(TensorDataset(*batch), batch_size=2))
    assert res["n_values"] == 4 * 3 * 2 and all(mod.training for mod in m.modules())
    m.eval()
    evaluate(m, DataLoader(TensorDataset(*batch), batch_size=2))
    assert not any(mod.training for mod in m.modules())


# ----------------------------------------------------------------------------- CLI
@needs_etth1
def test_cli_train_records_each_fit_and_resumes_where_it_stopped(tmp_path):
    """`zoo train` writes result.json with one segment per fit (`zoo.training.train_segments`); `--resume` with a
    longer schedule continues after the first fit's last step."""
    from zoo.cli import main

    threads = torch.get_num_threads()
    run = tmp_path / "runs" / "dlinear-etth1-h96"
    try:
        assert main(["train", "dlinear-etth1-h96", "max_epochs=1", "train_stride=8", "--out", str(run.parent)]) == 0
        first = json.loads((run / "result.json").read_text())
        assert main(["train", "dlinear-etth1-h96", "max_epochs=2", "train_stride=8", "--resume",
                     "--out", str(run.parent)]) == 0
    finally:
        torch.set_num_threads(threads)
    (one,) = first["segments"]
    steps = one["steps"][1]
    assert one["steps"][0] == 1 and steps > 1 and one["threads"] == 1 and one["cpu_seconds"] > 0
    second = json.loads((run / "result.json").read_text())
    assert [s["steps"] for s in second["segments"]] == [[1, steps], [steps + 1, 2 * steps]]
    same = ("steps", "threads", "started")  # the first fit as its last checkpoint kept it
    assert {k: second["segments"][0][k] for k in same} == {k: one[k] for k in same} and second["epochs_run"] == 2


@needs_etth1
def test_cli_eval_and_forecast(tmp_path, capsys):
    from zoo.cli import main

    if "dlinear-etth1-h96" not in TS_MODELS:
        pytest.skip("dlinear-etth1-h96 not registered")
    assert main(["eval", "dlinear-etth1", "--data", "ETTh1", "--batch-size", "512"]) == 0
    card = {m["name"]: m["value"] for m in zoo.info("dlinear-etth1")["metrics"]}
    assert f"MSE {card['mse']:.4f}" in capsys.readouterr().out
    assert main(["eval", "dlinear-etth1-h720", "--data", str(DATA_DIR), "--json"]) == 0  # --data: a data folder
    card = {m["name"]: m["value"] for m in zoo.info("dlinear-etth1-h720")["metrics"]}
    assert abs(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mse"] - card["mse"]) < 1e-5
    csv = tmp_path / "hist.csv"
    pd.read_csv(ETTH1).iloc[:300].to_csv(csv, index=False)
    out, png = tmp_path / "f.csv", tmp_path / "f.png"
    assert main(["forecast", "dlinear-etth1", "--csv", str(csv), "--out", str(out), "--plot", str(png)]) == 0
    fut = pd.read_csv(out)
    assert len(fut) == 96 and fut["date"].iloc[0] == "2016-07-13 12:00:00" and png.stat().st_size > 10_000
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic writes leave no temporaries


def _user_frame(n=1100, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    df = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n, freq="h")})
    for i, c in enumerate(["a", "b", "c", "d", "e", "f", "load"]):
        df[c] = np.sin(2 * np.pi * t / 24 + i) * (i + 1) * 50 + rng.normal(scale=5, size=n) + 1000 * i
    return df


@needs_etth1
def test_finetune_fits_the_users_scaler_and_saves_a_new_identity(tmp_path):
    """Done-means of the fine-tune: saved, reloaded, and forecasting the user's data in its own units with
    the user's scaler, checked against a hand computation (standardise, run the network, de-standardise)."""
    from zoo.hub import from_pretrained
    from zoo.timeseries.cli import finetune

    if "dlinear-etth1-h96" not in TS_MODELS:
        pytest.skip("dlinear-etth1-h96 not registered")
    df = _user_frame()
    csv = tmp_path / "my.csv"
    df.iloc[:700].to_csv(csv, index=False)
    with pytest.raises(InputError, match="700 rows leave no validation window"):
        finetune("dlinear-etth1", str(csv), out=str(tmp_path / "x"), epochs=1)
    df.to_csv(csv, index=False)
    logs: list[str] = []
    res = finetune("dlinear-etth1", str(csv), target="load", out=str(tmp_path / "ft"), epochs=1, log=logs.append,
                   progress_bar=False)
    assert res["reinitialised"] == [] and "start from dlinear-etth1-h96" in logs[0]
    run = tmp_path / "ft"
    assert (run / "best.ckpt").is_file() and (run / "last.ckpt").is_file()
    assert (run / "logs" / "version_0" / "metrics.csv").is_file() and (run / "logs" / "version_0" / "hparams.yaml").is_file()
    model = from_pretrained(res["folder"])
    cfg = model.config
    assert res["folder"] == str(run / "model") and cfg.name == "ft"
    assert cfg.columns == ["a", "b", "c", "d", "e", "f", "load"] and cfg.pred_len == 96 and cfg.freq == "h"
    train = df[cfg.columns].to_numpy()[: int(1100 * 0.7)]  # the user's training rows (70 %)
    np.testing.assert_allclose(cfg.scaler_mean, train.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cfg.scaler_std, train.std(0), rtol=1e-12)
    etth1 = zoo.load("dlinear-etth1").config
    assert not np.allclose(cfg.scaler_mean, etth1.scaler_mean)
    # hand computation on the last 96 rows
    hist = df.iloc[-96:]
    x = hist[cfg.columns].to_numpy()
    z = torch.from_numpy(((x - train.mean(0)) / train.std(0)).astype(np.float32))[None]
    with torch.no_grad():
        expect = model(z).double().numpy()[0] * train.std(0) + train.mean(0)
    got = model.forecast(x, hist["date"].to_numpy())[0].numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-3)
    assert abs(got[:, -1].mean() - 6000) < 500  # original units of 'load' (about 6000), not standardised
    # the card: new name, the user's data, metrics measured on the user's split, never the parent's
    readme = (run / "model" / "README.md").read_text()
    assert "my.csv" in readme and "0.3885" not in readme
    results = run / "model" / "results.json"
    if results.is_file():  # the core's new save_pretrained writes it
        metrics = json.loads(results.read_text())["metrics"]
        got_metrics = {(m["split"], m["name"]): m["value"] for m in metrics}
        assert got_metrics[("test", "mse")] == pytest.approx(res["test"]["mse"])
        assert got_metrics[("val", "mse")] == pytest.approx(res["val"]["mse"])
        assert {m["dataset"] for m in metrics} == {"my.csv"}
    # a second run into the same folder is refused; --resume continues it (one more epoch)
    with pytest.raises(InputError, match="pass --resume"):
        finetune("dlinear-etth1", str(csv), target="load", out=str(run), epochs=2, log=logs.append)
    res2 = finetune("dlinear-etth1", str(csv), target="load", out=str(run), epochs=2, resume=True, log=logs.append,
                    progress_bar=False)
    assert res2["epochs_run"] == 2
    with pytest.raises(InputError, match="settings of the run.*lr"):
        finetune("dlinear-etth1", str(csv), target="load", out=str(run), epochs=3, lr=0.5, resume=True, log=logs.append)
    # another horizon: the heads are re-initialised and listed
    res = finetune("dlinear-etth1", str(csv), target="load", pred_len=24, out=str(tmp_path / "ft24"), epochs=1,
                   log=logs.append, progress_bar=False)
    assert sorted(res["reinitialised"]) == ["linear_seasonal.bias", "linear_seasonal.weight", "linear_trend.bias",
                                            "linear_trend.weight"]
    assert any("re-initialised 4 tensors" in m for m in logs)
    y = from_pretrained(res["folder"]).forecast(df.iloc[-96:, 1:].to_numpy(), df["date"].to_numpy()[-96:])
    assert y.shape == (1, 24, 7)
    # zoo eval works on the fine-tuned folder, on the user's CSV
    from zoo.cli import main

    assert main(["eval", str(run / "model"), "--data", str(csv), "--json"]) == 0


def test_dropout_is_active_while_fine_tuning(tmp_path):
    """A model as zoo.load returns it (eval mode) trains with dropout on under a plain Lightning Trainer,
    also after `evaluate` ran before the fit."""
    import lightning as L

    from zoo.timeseries.task import ForecastTask, evaluate

    df = _user_frame(600)
    df.to_csv(tmp_path / "u.csv", index=False)
    dm = ForecastDataModule(str(tmp_path / "u.csv"), seq_len=8, label_len=4, pred_len=3, target="load", batch_size=16)
    dm.setup()
    args = {"seq_len": 8, "label_len": 4, "pred_len": 3, "enc_in": 7, "dec_in": 7, "c_out": 7, "freq": "h",
            "d_model": 8, "n_heads": 2, "d_ff": 8, "dropout": 0.5}
    model = zoo.build("informer", args, dm.preprocessing()).eval()
    evaluate(model, dm.val_dataloader())
    seen: list[bool] = []

    class Probe(ForecastTask):
        def training_step(self, batch, batch_idx):
            drops = [m for m in self.model.modules() if isinstance(m, torch.nn.Dropout)]
            seen.append(bool(drops) and all(m.training for m in drops))
            return super().training_step(batch, batch_idx)

    trainer = L.Trainer(max_epochs=1, limit_train_batches=3, limit_val_batches=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Probe(model, lr=1e-3), dm)
    assert seen == [True, True, True]


@pytest.mark.parametrize("arch", ["informer", "autoformer"])
def test_revin_variant_is_affine_equivariant(arch):
    """With RevIN the network sees each window standardised: forecasts follow any per-channel a*x + b."""
    args = {"seq_len": 24, "label_len": 12, "pred_len": 6, "enc_in": 3, "dec_in": 3, "c_out": 3, "d_model": 16,
            "n_heads": 2, "d_ff": 16, "revin": True}
    if arch == "autoformer":
        args["moving_avg"] = 5
    torch.manual_seed(0)
    m = zoo.build(arch, args).eval().double()
    x = torch.randn(2, 24, 3, dtype=torch.float64)
    mark = torch.zeros(2, 24, 4, dtype=torch.float64)
    y_mark = torch.zeros(2, 18, 4, dtype=torch.float64)
    a, b = torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64), torch.tensor([1.0, -4.0, 10.0], dtype=torch.float64)
    with torch.no_grad():
        y1 = m(x, mark, torch.zeros(2, 18, 3, dtype=torch.float64), y_mark)
        y2 = m(x * a + b, mark, torch.zeros(2, 18, 3, dtype=torch.float64), y_mark)
    # equal up to the eps inside RevIN's std (sqrt(var + 1e-5))
    torch.testing.assert_close(y2, y1 * a + b, rtol=1e-4, atol=1e-4)
