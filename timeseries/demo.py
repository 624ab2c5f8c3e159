"""The forecasting demo page: a CSV of history in, a plot, the forecast table and a CSV download out.

Example:
    >>> from zoo.timeseries.demo import build, forecast_csv
    >>> model = zoo.load("informer-etth1")
    >>> fig, table, path, note = forecast_csv(model, "history.csv")   # what the page shows
    >>> build(model).launch()
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from zoo.demo import asset, describe, output_dir, user_errors
from zoo.errors import InputError

if TYPE_CHECKING:
    import gradio

EXAMPLE = "etth1-example.csv"  # the last 336 hours of the ETTh1 test split (CC BY-ND 4.0, verbatim)


def example_inputs(model=None) -> list[str]:
    """Bundled CSVs that fit ``model`` (its columns and frequency); all of them without a model."""
    path = asset(EXAMPLE)
    if not path.is_file():
        return []
    if model is not None:
        cols = list(model.config.get("preprocessing", {}).get("columns") or [])
        head = pd.read_csv(path, nrows=1)
        if any(c not in head.columns for c in cols) or str(model.config.get("preprocessing", {}).get("freq", "h")).lower() != "h":
            return []
    return [str(path)]


def read_history(path: str | os.PathLike | None) -> pd.DataFrame:
    """The uploaded CSV as a DataFrame, or `InputError` saying what a usable file looks like."""
    if path is None:
        raise InputError("no CSV given: upload a CSV with a 'date' column and the model's columns, or pick the example")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{Path(path).name} is not a readable CSV (expected a header row, then one row per time step): {exc}") from None
    if "date" in df.columns:
        try:
            df["date"] = pd.to_datetime(df["date"])
        except (ValueError, TypeError) as exc:
            raise InputError(f"the 'date' column of {Path(path).name} holds values that are not dates: {exc}") from None
    return df


def plot_forecast(history: pd.DataFrame, future: pd.DataFrame, column: str, context: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    past = history.tail(context)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(past["date"], past[column], color="tab:blue", label="history")
    ax.plot(future["date"], future[column], color="tab:orange", label="forecast")
    ax.axvline(past["date"].iloc[-1], color="grey", lw=0.8, ls="--")
    ax.set_ylabel(column)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def forecast_csv(model, path, column: str | None = None):
    """``(figure, forecast DataFrame, CSV path, note)`` for a history CSV (``date`` + the model's columns)."""
    cfg = model.config.get("preprocessing", {})
    cols = list(cfg.get("columns") or [])
    out_cols = list(cfg.get("out_columns") or cols)
    column = column if column in out_cols else (cfg.get("target") if cfg.get("target") in out_cols else out_cols[-1])
    history = read_history(path)
    future = model.forecast_df(history)
    out = output_dir() / "forecast.csv"
    future.to_csv(out, index=False, float_format="%.6g")
    fig = plot_forecast(history, future, column, context=min(len(history), 4 * int(model.seq_len)))
    note = (f"Forecast of the {len(future)} steps after {history['date'].iloc[-1]} from the last {model.seq_len} rows "
            f"({len(history)} rows given); plotted: {column}.")  # fmt: skip
    values = [c for c in future.columns if c != "date"]
    table = future.astype({c: "float64" for c in values}).round({c: 4 for c in values})
    table["date"] = table["date"].astype(str)
    return fig, table, str(out), note


def build(model, title: str | None = None) -> gradio.Blocks:
    """The page: CSV upload or example, column choice, Forecast button; plot, table, download."""
    import gradio as gr

    cfg = model.config.get("preprocessing", {})
    cols = list(cfg.get("columns") or [])
    out_cols = list(cfg.get("out_columns") or cols)
    default = cfg.get("target") if cfg.get("target") in out_cols else out_cols[-1]
    examples = example_inputs(model)
    with gr.Blocks(title=title or "forecast") as app:
        gr.Markdown(describe(model, title or str(model.config.get("name"))))
        gr.Markdown(
            f"Upload a CSV with a `date` column and the columns {', '.join(f'`{c}`' for c in cols)} "
            f"(at least {model.seq_len} rows at frequency `{cfg.get('freq', 'h')}`); the model forecasts the next "
            f"{model.pred_len} steps from the last {model.seq_len}."
        )
        with gr.Row():
            with gr.Column(scale=1):
                csv = gr.File(label="history CSV", file_types=[".csv"], type="filepath", elem_id="history-csv")
                if examples:
                    gr.Examples([[p] for p in examples], inputs=[csv], label="example: ETTh1, last 336 hours of the test split",
                                example_labels=["ETTh1 (336 hourly rows)"])  # fmt: skip
                column = gr.Dropdown(out_cols, value=default, label="column to plot", elem_id="plot-column")
                run = gr.Button("Forecast", variant="primary", elem_id="run")
            with gr.Column(scale=2):
                plot = gr.Plot(label="history and forecast", elem_id="forecast-plot")
                note = gr.Markdown(elem_id="note")
        table = gr.Dataframe(label="forecast", elem_id="forecast-table", interactive=False)
        download = gr.File(label="forecast CSV", elem_id="forecast-download")
        fn = user_errors(lambda path, col: forecast_csv(model, path, col))
        outputs = [plot, table, download, note]
        run.click(fn, [csv, column], outputs)
    return app
