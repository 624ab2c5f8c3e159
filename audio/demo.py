"""The speech separation demo page: a mixture in (upload or microphone), two playable tracks out.

Example:
    >>> from zoo.audio.demo import build, separate_array
    >>> model = zoo.load("mossformer2-fsdd2mix")
    >>> rate, tracks, note = separate_array(model, 16000, mixture)     # tracks: [2, T] at the model's rate
    >>> build(model).launch()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from zoo.demo import asset, describe, user_errors
from zoo.errors import InputError

if TYPE_CHECKING:
    import gradio

EXAMPLE = "fsdd-mixture.wav"  # two FSDD test utterances (speakers george and jackson), CC BY-SA 4.0
CHUNK_SECONDS = 10.0


def example_inputs(model=None) -> list[str]:
    """The bundled two-speaker mixture (8 kHz WAV)."""
    return [str(asset(EXAMPLE))] if asset(EXAMPLE).is_file() else []


def to_float_mono(data: np.ndarray) -> tuple[np.ndarray, str]:
    """Gradio's ``[T]`` or ``[T, channels]`` integer/float samples -> float32 mono in [-1, 1], and a note."""
    x = np.asarray(data)
    note = ""
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32)
    if x.ndim == 2:
        if x.shape[1] > 1:
            note = f"{x.shape[1]} channels mixed down to mono. "
        x = x.mean(axis=1)
    if x.ndim != 1 or x.size == 0:
        raise InputError(f"expected mono or multi-channel audio samples, got an array of shape {np.asarray(data).shape}")
    return x, note


def separate_array(model, rate: int, data: np.ndarray, progress=None) -> tuple[int, np.ndarray, str]:
    """Separate a mixture given at any ``rate``: ``(model rate, [num_speakers, T] float32, note)``."""
    from zoo.audio.api import SILENCE_PEAK, check_sample_rate, resample

    rate = check_sample_rate(rate, "sample rate of the recording")
    x, note = to_float_mono(data)
    if not np.isfinite(x).all():
        raise InputError("the recording contains NaN or infinite samples")
    peak = float(np.abs(x).max())
    if peak < SILENCE_PEAK:
        raise InputError(f"the recording is silent (peak {peak:.2g}): nothing to separate")
    wav = torch.from_numpy(x)
    if rate != model.sample_rate:
        note += f"Resampled from {rate} Hz to the model's {model.sample_rate} Hz. "
        wav = resample(wav[None], rate, model.sample_rate)[0]
    est = model.separate(wav, chunk_seconds=CHUNK_SECONDS, progress=progress is not None)[0].float().numpy()
    est = est / max(1.0, float(np.abs(est).max()) / 0.99)
    seconds = wav.shape[-1] / model.sample_rate
    note += f"Separated {seconds:.2f} s into {est.shape[0]} tracks at {model.sample_rate} Hz."
    return model.sample_rate, est, note


def plot_waveforms(rate: int, mixture: np.ndarray, tracks: np.ndarray):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("mixture", mixture)] + [(f"speaker {i + 1}", t) for i, t in enumerate(tracks)]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.6 * len(rows)), sharex=True, squeeze=False)
    for ax, (name, y) in zip(axes[:, 0], rows):
        ax.plot(np.arange(len(y)) / rate, y, lw=0.5, color="tab:grey" if name == "mixture" else "tab:blue")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def build(model, title: str | None = None) -> gradio.Blocks:
    """The page: mixture upload or recording, Separate button; two audio players and the waveforms."""
    import gradio as gr

    n = int(model.num_speakers)
    with gr.Blocks(title=title or "separate") as app:
        gr.Markdown(describe(model, title or str(model.config.get("name"))))
        gr.Markdown(f"Upload or record a mixture of {n} speakers (any sample rate; it is resampled to the model's "
                    f"{model.sample_rate} Hz). Long recordings are processed in {CHUNK_SECONDS:g}-second chunks.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                mixture = gr.Audio(sources=["upload", "microphone"], type="numpy", label="mixture", elem_id="mixture")
                examples = example_inputs(model)
                if examples:
                    gr.Examples([[p] for p in examples], inputs=[mixture], label="example: two FSDD speakers saying 3 and 7",
                                example_labels=["fsdd-mixture.wav"])  # fmt: skip
                run = gr.Button("Separate", variant="primary", elem_id="run")
                note = gr.Markdown(elem_id="note")
            with gr.Column():
                tracks = [gr.Audio(type="numpy", label=f"speaker {i + 1}", elem_id=f"track-{i + 1}", interactive=False)
                          for i in range(n)]  # fmt: skip
        plot = gr.Plot(label="waveforms", elem_id="waveforms")

        @user_errors
        def fn(audio, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio's progress idiom
            if audio is None:
                raise InputError("no audio given: upload or record a mixture, or pick the example")
            rate, data = audio
            out_rate, est, msg = separate_array(model, rate, data, progress)
            if rate != out_rate:
                gr.Info(f"Resampled from {rate} Hz to the model's {out_rate} Hz.")
            mix, _ = to_float_mono(data)
            if rate != out_rate:
                from zoo.audio.api import resample

                mix = resample(torch.from_numpy(mix)[None], rate, out_rate)[0].numpy()
            pcm = [(out_rate, (np.clip(t, -1, 1) * 32767).astype(np.int16)) for t in est]  # 16-bit WAV for the players
            return (*pcm, plot_waveforms(out_rate, mix[: est.shape[1]], est), msg)

        run.click(fn, [mixture], [*tracks, plot, note])
    return app
