"""Forecasting: bad inputs to ``model.forecast`` / ``forecast_df``, the data loader and ``zoo forecast|finetune|eval|train``.

Every case must raise `InputError` (or exit non-zero from the CLI) with a message naming what was
expected and what came; the data-loss cases also check the user's files are byte-identical afterwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from zoo.errors import InputError

from . import Case, CLIError, cli, protect

ETT_COLS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


# ----------------------------------------------------------------------------- helpers
def toy(scaler_std=(2.0, 4.0), **pre):
    """A tiny Informer (seq_len 8, columns a, b, hourly) with a given scaler; eval mode."""
    import zoo

    preprocessing = {"columns": ["a", "b"], "out_columns": ["a", "b"], "features": "M", "target": "b", "freq": "h",
                     "scaler_mean": [1.0, 2.0], "scaler_std": list(scaler_std), "dataset": "toy", **pre}
    args = {"seq_len": 8, "label_len": 4, "pred_len": 3, "enc_in": 2, "freq": "h", "d_model": 8, "n_heads": 2,
            "d_ff": 8, "dec_in": 2, "c_out": 2}
    torch.manual_seed(0)
    return zoo.build("informer", args, preprocessing).eval()


def ts(n=8, start="2021-01-01", freq="h"):
    return pd.date_range(start, periods=n, freq=freq).to_numpy()


def vals(n=8):
    return np.random.default_rng(0).normal(size=(n, 2))


def frame(n=8, **over):
    df = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=n, freq="h"), "a": vals(n)[:, 0], "b": vals(n)[:, 1]})
    for k, v in over.items():
        df[k] = v
    return df


def with_value(i, j, v):
    x = vals().astype(object if v is None or isinstance(v, str) else np.float64)
    x[i, j] = v
    return x


def ett_csv(tmp: Path, n=200, name="hist.csv", edit=None) -> Path:
    """An ETTh1-shaped CSV (date + the 7 ETT columns, hourly) that ``edit(df)`` may spoil."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"date": pd.date_range("2018-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S")})
    for i, c in enumerate(ETT_COLS):
        df[c] = np.round(rng.normal(size=n) + 5 * i, 3)
    if edit is not None:
        df = edit(df)
    path = tmp / name
    df.to_csv(path, index=False)
    return path


def spoil(fn):
    """``edit`` for `ett_csv` that changes ``df`` in place (returns it)."""
    def edit(df):
        fn(df)
        return df
    return edit


def forecast_cli(tmp: Path, edit=None, *extra: str):
    return cli("forecast", "dlinear-etth1", "--csv", ett_csv(tmp, edit=edit), *extra)


def set_cell(col, row, value):
    def f(df):
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
    return spoil(f)


# ----------------------------------------------------------------------------- data-loss cases
def _out_is_input(tmp, files):
    return cli("forecast", "dlinear-etth1", "--csv", files[0], "--out", files[0])


def _out_is_input_other_spelling(tmp, files):
    (tmp / "sub").mkdir(exist_ok=True)
    return cli("forecast", "dlinear-etth1", "--csv", files[0], "--out", tmp / "sub" / ".." / files[0].name)


def _plot_is_input(tmp, files):
    return cli("forecast", "dlinear-etth1", "--csv", files[0], "--plot", files[0])


def _out_is_existing_dir(tmp, files):
    return cli("forecast", "dlinear-etth1", "--csv", files[0], "--out", files[1])


def _make_csv_and_dir(tmp):
    d = tmp / "results"
    d.mkdir()
    (d / "keep.txt").write_text("mine")
    return [ett_csv(tmp), d]


def _finetune_out_is_csv(tmp, files):
    return cli("finetune", "dlinear-etth1", "--csv", files[0], "--out", files[0], "--epochs", "1")


def _finetune_out_nonempty(tmp, files):
    return cli("finetune", "dlinear-etth1", "--csv", files[0], "--out", files[1], "--epochs", "1")


def _finetune_out_holds_csv(tmp, files):
    return cli("finetune", "dlinear-etth1", "--csv", files[0], "--out", tmp, "--epochs", "1")


def _out_is_data(tmp, files):
    return cli("forecast", "dlinear-etth1", "--data", files[0], "--out", files[0])


fn_out_in, after_out_in = protect(lambda tmp: [ett_csv(tmp)], _out_is_input)
fn_out_data, after_out_data = protect(lambda tmp: [ett_csv(tmp)], _out_is_data)
fn_spelling, after_spelling = protect(lambda tmp: [ett_csv(tmp)], _out_is_input_other_spelling)
fn_plot_in, after_plot_in = protect(lambda tmp: [ett_csv(tmp)], _plot_is_input)
fn_out_dir, after_out_dir = protect(_make_csv_and_dir, _out_is_existing_dir)
fn_ft_csv, after_ft_csv = protect(lambda tmp: [ett_csv(tmp)], _finetune_out_is_csv)
fn_ft_full, after_ft_full = protect(_make_csv_and_dir, _finetune_out_nonempty)
fn_ft_in, after_ft_in = protect(lambda tmp: [ett_csv(tmp)], _finetune_out_holds_csv)


def _train_over_a_run():
    def make(tmp):
        run = tmp / "runs" / "dlinear-etth1-h96"
        run.mkdir(parents=True)
        (run / "last.ckpt").write_bytes(b"a run of mine")
        (run / "notes.txt").write_text("my notes")
        return [tmp / "runs"]

    def action(tmp, files):  # without --resume: refused, the earlier run kept as it is
        return cli("train", "dlinear-etth1-h96", "max_epochs=1", "--out", files[0])

    return protect(make, action)


_run_fn, _run_after = _train_over_a_run()


def _no_file(name):
    def after(tmp):
        assert not (tmp / name).exists(), f"{name} was written although the command failed"
    return after


CASES = [
    # --- data loss: refused before any work, the user's files byte-identical
    Case("cli-forecast-out-equals-csv", fn_out_in, CLIError, (r"same file as the input", r"hist\.csv"), after_out_in),
    Case("cli-forecast-out-equals-data", fn_out_data, CLIError, (r"same file as the input", r"hist\.csv"), after_out_data),
    Case("cli-finetune-target-missing",
         lambda tmp: cli("finetune", "dlinear-etth1", "--csv", ett_csv(tmp, n=1200), "--target", "load", "--out", tmp / "ft"),
         CLIError, (r"target column 'load' not in", r"OT"), _no_file("ft")),
    Case("cli-forecast-out-equals-csv-other-spelling", fn_spelling, CLIError, (r"same file as the input",), after_spelling),
    Case("cli-forecast-plot-equals-csv", fn_plot_in, CLIError, (r"plot .* same file as the input", r"hist\.csv"), after_plot_in),
    Case("cli-forecast-out-is-a-folder", fn_out_dir, CLIError, (r"expected an output file path", r"existing directory"),
         after_out_dir),
    Case("cli-finetune-out-equals-csv", fn_ft_csv, CLIError, (r"run folder", r"existing file", r"hist\.csv"), after_ft_csv),
    Case("cli-finetune-out-not-empty", fn_ft_full, CLIError, (r"new or empty folder", r"keep\.txt"), after_ft_full),
    Case("cli-finetune-out-holds-the-csv", fn_ft_in, CLIError, (r"new or empty folder|inside", r"hist\.csv"), after_ft_in),
    Case("cli-forecast-out-wrong-suffix",
         lambda tmp: forecast_cli(tmp, None, "--out", str(tmp / "forecast.txt")), CLIError,
         (r"ending in \.csv", r"forecast\.txt"), _no_file("forecast.txt")),
    Case("cli-forecast-out-parent-missing",
         lambda tmp: forecast_cli(tmp, None, "--out", str(tmp / "nope" / "f.csv")), CLIError,
         (r"folder of the output", r"does not exist")),
    # --- values: API
    Case("api-values-complex-numpy", lambda tmp: toy().forecast(vals() + 1j, ts()), InputError,
         (r"real numbers", r"complex")),
    Case("api-values-complex-tensor", lambda tmp: toy().forecast(torch.zeros(8, 2, dtype=torch.complex64), ts()),
         InputError, (r"real numbers", r"complex tensor", r"complex64")),
    Case("api-values-strings", lambda tmp: toy().forecast(np.full((8, 2), "x"), ts()), InputError,
         (r"real numbers", r"<U1", r"'x'")),
    Case("api-values-object-with-none", lambda tmp: toy().forecast(with_value(2, 1, None), ts()), InputError,
         (r"real numbers", r"NoneType", r"None")),
    Case("api-values-booleans", lambda tmp: toy().forecast(np.zeros((8, 2), dtype=bool), ts()), InputError,
         (r"real numbers", r"booleans")),
    Case("api-values-overflow-float32", lambda tmp: toy().forecast(with_value(3, 0, 1e39), ts()), InputError,
         (r"fit in float32", r"1e\+39", r"\[0, 3, 0\]")),
    Case("api-values-standardised-overflow", lambda tmp: toy(scaler_std=(1e-3, 4.0)).forecast(with_value(3, 0, 3e38), ts()),
         InputError, (r"standardised", r"exceeds float32", r"3e\+38")),
    Case("api-values-nan", lambda tmp: toy().forecast(with_value(3, 1, np.nan), ts()), InputError,
         (r"NaN or inf", r"\[0, 3, 1\]")),
    Case("api-values-inf", lambda tmp: toy().forecast(with_value(7, 0, -np.inf), ts()), InputError,
         (r"NaN or inf", r"\[0, 7, 0\]")),
    Case("api-values-too-short", lambda tmp: toy().forecast(vals(5), ts(5)), InputError, (r"seq_len=8", r"got 5")),
    Case("api-values-wrong-feature-count", lambda tmp: toy().forecast(np.zeros((8, 3)), ts()), InputError,
         (r"3 columns", r"expects 2", r"a, b")),
    Case("api-values-rank-1", lambda tmp: toy().forecast(np.zeros(8), ts()), InputError,
         (r"\[seq_len, C\] or \[batch, seq_len, C\]", r"1 dimension", r"\(8,\)")),
    Case("api-values-rank-4", lambda tmp: toy().forecast(torch.zeros(1, 1, 8, 2), ts()), InputError,
         (r"\[batch, seq_len, C\]", r"4 dimension", r"\(1, 1, 8, 2\)")),
    Case("api-empty-batch", lambda tmp: toy().forecast(np.zeros((0, 8, 2)), ts()), InputError,
         (r"empty batch", r"\[batch >= 1, 8, 2\]", r"\(0, 8, 2\)")),
    Case("api-batch-size-zero", lambda tmp: toy().forecast(vals(), ts(), batch_size=0), InputError,
         (r"batch_size must be a positive integer", r"got 0")),
    Case("api-batch-size-float", lambda tmp: toy().forecast(vals(), ts(), batch_size=1.5), InputError,
         (r"positive integer", r"1\.5")),
    # --- timestamps: API
    Case("api-timestamps-numbers", lambda tmp: toy().forecast(vals(), np.arange(8)), InputError,
         (r"datetime64 values or date strings", r"got numbers", r"int64")),
    Case("api-timestamps-unparseable", lambda tmp: toy().forecast(vals(), ["2021-01-01"] * 7 + ["not a date"]),
         InputError, (r"could not parse", r"'not a date'", r"position 7")),
    Case("api-timestamps-missing", lambda tmp: toy().forecast(vals(), pd.Series(ts()).where(lambda s: s.index != 2)),
         InputError, (r"missing value", r"position 2")),
    Case("api-timestamps-tensor", lambda tmp: toy().forecast(vals(), torch.arange(8)), InputError,
         (r"datetime64", r"torch tensor")),
    Case("api-timestamps-batch-mismatch", lambda tmp: toy().forecast(np.stack([vals()] * 2), ts()[None].repeat(3, 0)),
         InputError, (r"\[2, >=8\]", r"\(3, 8\)")),
    Case("api-timestamps-decreasing", lambda tmp: toy().forecast(vals(), ts()[::-1]), InputError,
         (r"strictly increasing",)),
    Case("api-timestamps-wrong-frequency", lambda tmp: toy().forecast(vals(), ts(freq="30min")), InputError,
         (r"frequency 'h'", r"0 days 00:30:00")),
    Case("api-timestamps-dst-change",
         lambda tmp: toy().forecast(vals(), pd.date_range("2021-03-28 00:00", periods=8, freq="h", tz="Europe/Berlin")),
         InputError, (r"frequency 'h'", r"0 days 02:00:00", r"daylight-saving", r"Europe/Berlin")),
    Case("api-timestamps-absent", lambda tmp: toy().forecast(vals()), InputError, (r"uses time features", r"past_timestamps")),
    # --- the model's scaler
    Case("load-scaler-std-zero", lambda tmp: toy(scaler_std=(2.0, 0.0)), InputError,
         (r"column 'b'", r"positive standard deviation", r"std 0\.0")),
    Case("forecast-scaler-std-zero-after-edit",
         lambda tmp: (m := toy(), m.config["preprocessing"].__setitem__("scaler_std", [0.0, 4.0]), m.forecast(vals(), ts())),
         InputError, (r"column 'a'", r"positive standard deviation", r"std 0\.0")),
    Case("load-scaler-std-nan", lambda tmp: toy(scaler_std=(float("nan"), 1.0)), InputError, (r"column 'a'", r"std nan")),
    Case("load-scaler-wrong-length", lambda tmp: toy(scaler_std=(1.0, 1.0, 1.0)), InputError,
         (r"3 scaler_std values", r"one per column \(2\)")),
    # --- forecast_df
    Case("df-not-a-dataframe", lambda tmp: toy().forecast_df(vals()), InputError, (r"pandas DataFrame", r"ndarray")),
    Case("df-missing-date-column", lambda tmp: toy().forecast_df(frame().drop(columns="date")), InputError,
         (r"needs a 'date' column", r"\['a', 'b'\]")),
    Case("df-missing-model-column", lambda tmp: toy().forecast_df(frame().drop(columns="b")), InputError,
         (r"lacks the model's columns \['b'\]", r"expected \['a', 'b'\]")),
    Case("df-text-column", lambda tmp: toy().forecast_df(frame(a=["1.0"] * 7 + ["n/a"])), InputError,
         (r"column 'a' must hold numbers", r"'n/a'")),
    Case("df-complex-column", lambda tmp: toy().forecast_df(frame(b=vals()[:, 1] + 2j)), InputError,
         (r"column 'b' must hold real numbers", r"complex128")),
    Case("df-bool-column", lambda tmp: toy().forecast_df(frame(b=[True] * 8)), InputError,
         (r"column 'b' must hold numbers", r"bool")),
    Case("df-nan-in-history", lambda tmp: toy().forecast_df(frame(a=[1.0] * 5 + [np.nan] + [1.0] * 2)), InputError,
         (r"column 'a'", r"NaN", r"row 5")),
    Case("df-overflow-float32", lambda tmp: toy().forecast_df(frame(b=[1e39] * 8)), InputError,
         (r"column 'b'", r"1e\+39", r"fit in float32")),
    Case("df-unparseable-dates", lambda tmp: toy().forecast_df(frame(date=["2021-01-01 00:00"] * 7 + ["yesterday"])),
         InputError, (r"column 'date'", r"could not parse 'yesterday'")),
    Case("df-too-few-rows", lambda tmp: toy().forecast_df(frame(5)), InputError, (r"seq_len=8 rows", r"got 5")),
    # --- zoo forecast: the history CSV
    Case("cli-forecast-csv-missing", lambda tmp: cli("forecast", "dlinear-etth1", "--csv", tmp / "nope.csv"), CLIError,
         (r"existing CSV file", r"nope\.csv")),
    Case("cli-forecast-csv-empty",
         lambda tmp: ((tmp / "e.csv").write_text(""), cli("forecast", "dlinear-etth1", "--csv", tmp / "e.csv")),
         CLIError, (r"header row and data rows", r"empty file")),
    Case("cli-forecast-csv-header-only",
         lambda tmp: ((tmp / "h.csv").write_text("date,OT\n"), cli("forecast", "dlinear-etth1", "--csv", tmp / "h.csv")),
         CLIError, (r"data rows", r"only a header")),
    Case("cli-forecast-csv-binary",
         lambda tmp: ((tmp / "b.csv").write_bytes(b"\xff\xfe\x00\x81" * 64), cli("forecast", "dlinear-etth1", "--csv", tmp / "b.csv")),
         CLIError, (r"expected a history CSV file", r"could not read")),
    Case("cli-forecast-no-csv", lambda tmp: cli("forecast", "dlinear-etth1"), CLIError, (r"expected the history as --csv",)),
    Case("cli-forecast-overflow", lambda tmp: forecast_cli(tmp, set_cell("OT", 150, 1e39)), CLIError,
         (r"column 'OT'", r"1e\+39", r"float32")),
    Case("cli-forecast-text-value", lambda tmp: forecast_cli(tmp, set_cell("HULL", 190, "broken")), CLIError,
         (r"column 'HULL' must hold numbers", r"'broken'")),
    Case("cli-forecast-complex-value", lambda tmp: forecast_cli(tmp, set_cell("OT", 190, "(1+2j)")), CLIError,
         (r"column 'OT' must hold numbers", r"1\+2j")),
    Case("cli-forecast-missing-column", lambda tmp: forecast_cli(tmp, spoil(lambda df: df.pop("LULL"))), CLIError,
         (r"lacks the model's columns \['LULL'\]",)),
    Case("cli-forecast-too-few-rows", lambda tmp: cli("forecast", "dlinear-etth1", "--csv", ett_csv(tmp, n=50)), CLIError,
         (r"seq_len=96 rows", r"got 50")),
    Case("cli-forecast-bad-date", lambda tmp: forecast_cli(tmp, set_cell("date", 199, "31/02/2018 25:00")), CLIError,
         (r"column 'date'", r"could not parse '31/02/2018 25:00'")),
    Case("cli-forecast-no-date-column", lambda tmp: forecast_cli(tmp, None, "--date-col", "time"), CLIError,
         (r"needs a 'time' column",)),
    # --- zoo finetune / eval / train
    Case("cli-finetune-resume-nothing",
         lambda tmp: cli("finetune", "dlinear-etth1", "--csv", ett_csv(tmp), "--out", tmp / "run", "--resume"),
         CLIError, (r"--resume expected a previous run", r"last\.ckpt")),
    Case("cli-finetune-nan-in-data",
         lambda tmp: cli("finetune", "dlinear-etth1", "--csv", ett_csv(tmp, n=1200, edit=set_cell("OT", 40, "")),
                         "--out", tmp / "ft"), CLIError, (r"column 'OT'", r"missing, NaN or infinite", r"row 40"),
         _no_file("ft")),
    Case("cli-finetune-dates-not-increasing",
         lambda tmp: cli("finetune", "dlinear-etth1", "--csv",
                         ett_csv(tmp, n=1200, edit=set_cell("date", 30, "2018-01-01 05:00:00")), "--out", tmp / "ft"),
         CLIError, (r"strictly increasing dates", r"row 30"), _no_file("ft")),
    Case("cli-finetune-unknown-override",
         lambda tmp: cli("finetune", "dlinear-etth1", "lrr=1e-3", "--csv", ett_csv(tmp, n=1200), "--out", tmp / "ft"),
         CLIError, (r"no field 'lrr'", r"lr")),
    Case("cli-finetune-no-out", lambda tmp: cli("finetune", "dlinear-etth1", "--csv", ett_csv(tmp, n=1200)), CLIError,
         (r"expected --out DIR",)),
    Case("cli-eval-batch-size-zero", lambda tmp: cli("eval", "dlinear-etth1", "--batch-size", "0"), CLIError,
         (r"positive integer", r"got 0")),
    Case("cli-eval-wrong-columns",
         lambda tmp: cli("eval", "dlinear-etth1", "--data",
                         ett_csv(tmp, n=1200, edit=spoil(lambda df: df.drop(columns=["HUFL", "HULL", "MUFL", "MULL"],
                                                                            inplace=True)))),
         CLIError, (r"has 3 columns", r"expects 7")),
    Case("cli-train-unknown-override", lambda tmp: cli("train", "dlinear-etth1-h96", "max_epoch=1", "--out", tmp),
         CLIError, (r"no field 'max_epoch'", r"max_epochs")),
    Case("cli-train-over-a-run", _run_fn, CLIError,
         (r"expected a new or empty folder for --out", r"dlinear-etth1-h96", r"pass --resume to continue it"), _run_after),
    Case("cli-train-resume-nothing",
         lambda tmp: cli("train", "dlinear-etth1-h96", "max_epochs=1", "--resume", "--out", tmp / "fresh"), CLIError,
         (r"--resume expected a previous run", r"found nothing"), _no_file("fresh/dlinear-etth1-h96/result.json")),
]
