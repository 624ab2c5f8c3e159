"""``handler.py`` of a published model folder: a JSON-in, JSON-out endpoint for Inference Endpoints.

``EndpointHandler(path)`` loads the folder with `zoo.hub.from_pretrained`; ``handler({"inputs": ...})``
answers by task:

- forecasting: ``inputs`` = rows ``[{"date": "2018-02-20 23:00", "HUFL": 5.8, ...}, ...]`` (or a dict of
  columns) with at least ``seq_len`` rows -> ``[{"date": ..., column: value, ...}]`` for the next ``pred_len`` steps;
- image classification: ``inputs`` = base64 image (JPEG/PNG, optionally a ``data:`` URI) ->
  ``[{"label": ..., "score": ...}]`` (top 5; ``parameters.top_k`` changes it);
- speech separation: ``inputs`` = base64 WAV/FLAC (any rate) ->
  ``[{"label": "speaker 1", "content-type": "audio/wav", "blob": base64 WAV}, ...]`` at the input's rate;
- 3D segmentation: ``inputs`` = ``{"flair": base64 NIfTI, "t1c": ...}`` (or a list in the model's modality
  order) -> ``{"labels": {value: voxels}, "shape": [...], "segmentation": base64 .nii.gz}``;
- molecular property: ``inputs`` = SMILES or a list of them -> ``[{"smiles": ..., task: value, "units": ...}]``.

Bad input raises `zoo.errors.InputError` with what was expected and what came.

Example:
    >>> from zoo.hub.handler import EndpointHandler
    >>> handler = EndpointHandler("hub/models/gps-esol")
    >>> handler({"inputs": "CCO"})
    [{'smiles': 'CCO', 'measured log solubility in mols per litre': 1.08, 'units': 'log10(mol/L)'}]
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from zoo.errors import InputError

TASKS = ("forecasting", "image-classification", "audio-to-audio", "image-segmentation", "graph-prediction")


def _b64(value: Any, what: str) -> bytes:
    """Bytes of a base64 string (a ``data:...;base64,`` prefix is allowed)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str) or not value:
        raise InputError(f"{what}: expected a base64 string, got {type(value).__name__}")
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{what}: not valid base64 ({exc}); got {len(value)} characters starting {value[:20]!r}") from None


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class EndpointHandler:
    """The endpoint of one model folder (Hugging Face Inference Endpoints' custom handler convention).

    Example:
        >>> handler = EndpointHandler("hub/models/swin-cifar10")
        >>> handler({"inputs": base64.b64encode(open("cat.jpg", "rb").read()).decode()})[0]["label"]
    """

    def __init__(self, path: str | os.PathLike = ""):
        from zoo.hub import from_pretrained
        from zoo.registry import get_architecture

        self.model = from_pretrained(path or ".")
        self.domain = get_architecture(self.model.config["architecture"]).domain
        self.task = {"timeseries": "forecasting", "vision": "image-classification", "audio": "audio-to-audio",
                     "medical": "image-segmentation", "graph": "graph-prediction"}.get(self.domain)  # fmt: skip
        if self.task is None:
            raise InputError(f"no endpoint for models of the {self.domain!r} domain; known: {', '.join(TASKS)}")

    def __call__(self, data: dict) -> dict | list:
        if not isinstance(data, dict) or "inputs" not in data:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise InputError(f'expected a JSON object {{"inputs": ...}}, got {got}')
        params = data.get("parameters") or {}
        if not isinstance(params, dict):
            raise InputError(f"'parameters' must be an object, got {type(params).__name__}")
        return getattr(self, "_" + self.task.replace("-", "_"))(data["inputs"], params)

    # -- forecasting ----------------------------------------------------------------------------
    def _forecasting(self, inputs, params: dict) -> list[dict]:
        import pandas as pd

        if not isinstance(inputs, (list, dict)) or not inputs:
            raise InputError("forecasting: 'inputs' must be rows [{'date': ..., column: value}, ...] or a dict of "
                             f"columns, got {type(inputs).__name__}")  # fmt: skip
        try:
            df = pd.DataFrame(inputs)
        except ValueError as exc:
            raise InputError(f"forecasting: 'inputs' is not a table of rows or columns: {exc}") from None
        if "date" in df.columns:
            try:
                df["date"] = pd.to_datetime(df["date"])
            except (ValueError, TypeError) as exc:
                raise InputError(f"forecasting: 'date' values are not dates: {exc}") from None
        cols = list(self.model.config.get("preprocessing", {}).get("columns") or [])
        for c in cols:
            if c in df.columns:
                try:
                    df[c] = pd.to_numeric(df[c])
                except (ValueError, TypeError) as exc:
                    raise InputError(f"forecasting: column {c!r} must hold numbers: {exc}") from None
        out = self.model.forecast_df(df)
        out["date"] = out["date"].dt.strftime("%Y-%m-%d %H:%M:%S")
        return [{k: (v if k == "date" else round(float(v), 6)) for k, v in row.items()} for row in out.to_dict("records")]

    # -- image classification -------------------------------------------------------------------
    def _image_classification(self, inputs, params: dict) -> list[dict]:
        from PIL import Image, UnidentifiedImageError

        from zoo.vision.cli import predict

        raw = _b64(inputs, "image-classification 'inputs'")
        try:
            image = Image.open(io.BytesIO(raw))
            image.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"image-classification: the decoded {len(raw)} bytes are not an image (JPEG, PNG, ...): {exc}") from None
        top_k = params.get("top_k", 5)
        if not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"parameters.top_k must be a positive integer, got {top_k!r}")
        rows = predict(self.model, [image.convert("RGB")], topk=top_k)[0]
        return [{"label": name, "score": round(p, 6)} for _, name, p in rows]

    # -- speech separation ----------------------------------------------------------------------
    def _audio_to_audio(self, inputs, params: dict) -> list[dict]:
        import soundfile as sf

        from zoo.audio.demo import separate_array

        raw = _b64(inputs, "audio-to-audio 'inputs'")
        try:
            data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
        except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
            raise InputError(f"audio-to-audio: the decoded {len(raw)} bytes are not a WAV/FLAC/OGG file: {exc}") from None
        if data.shape[0] == 0:
            raise InputError("audio-to-audio: the audio has 0 samples")
        out_rate, tracks, _ = separate_array(self.model, rate, data)
        if out_rate != rate:  # give the tracks back at the caller's rate
            import torch

            from zoo.audio.api import resample

            tracks = resample(torch.from_numpy(tracks), out_rate, rate).numpy()[:, : data.shape[0]]
        result = []
        for i, track in enumerate(tracks):
            buf = io.BytesIO()
            sf.write(buf, track.clip(-1, 1), int(rate), subtype="PCM_16", format="WAV")
            result.append({"label": f"speaker {i + 1}", "content-type": "audio/wav", "blob": _encode(buf.getvalue())})
        return result

    # -- 3D segmentation ------------------------------------------------------------------------
    def _image_segmentation(self, inputs, params: dict) -> dict:
        from zoo.medical.demo import modalities
        from zoo.medical.infer import segment

        mods = modalities(self.model)
        if isinstance(inputs, dict):
            missing = [m for m in mods if m not in inputs]
            if missing:
                raise InputError(f"segmentation: 'inputs' needs one base64 NIfTI per modality {mods}; "
                                 f"missing {missing}, got {sorted(inputs)}")  # fmt: skip
            volumes = [inputs[m] for m in mods]
        elif isinstance(inputs, list):
            if len(inputs) != len(mods):
                raise InputError(f"segmentation: expected {len(mods)} base64 NIfTI volumes ({', '.join(mods)}), got {len(inputs)}")
            volumes = inputs
        else:
            raise InputError(f"segmentation: 'inputs' must map each modality {mods} to a base64 NIfTI, got {type(inputs).__name__}")
        with tempfile.TemporaryDirectory(prefix="zoo-endpoint-") as tmp:
            files = []
            for m, v in zip(mods, volumes):
                raw = _b64(v, f"segmentation input {m!r}")
                suffix = ".nii.gz" if raw[:2] == b"\x1f\x8b" else ".nii"
                path = Path(tmp) / f"{m}{suffix}"
                path.write_bytes(raw)
                files.append(path)
            out = Path(tmp) / "segmentation.nii.gz"
            res = segment(self.model, files, out=out)
            blob = out.read_bytes()
        return {"labels": {str(k): v for k, v in res["labels"].items()}, "shape": list(res["shape"]),
                "segmentation": _encode(blob), "content-type": "application/gzip"}  # fmt: skip

    # -- molecules ------------------------------------------------------------------------------
    def _graph_prediction(self, inputs, params: dict) -> list[dict]:
        smiles = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(smiles, list) or not smiles or not all(isinstance(s, str) for s in smiles):
            raise InputError(f"graph: 'inputs' must be a SMILES string or a list of them, got {inputs!r:.80}")
        if not hasattr(self.model, "predict_smiles"):
            raise InputError(f"{self.model.config.get('name')} does not take SMILES")
        pre = dict(self.model.config.get("preprocessing", {}) or {})
        pred = self.model.predict_smiles(smiles)
        names = list(pre.get("task_names") or [f"task{i}" for i in range(pred.shape[1])])
        units = str(pre.get("units", ""))
        rows = [{"smiles": s, **{n: round(float(v), 6) for n, v in zip(names, row)}} for s, row in zip(smiles, pred.tolist())]
        return [{**r, "units": units} for r in rows]
