"""A Hugging Face Space (Gradio SDK) that serves a model's `zoo demo` page.

``write_space(name, folder)`` writes ``app.py`` (``build_app(MODEL).launch()``, the very code of
``zoo demo``), ``requirements.txt`` (this package, pinned) and ``README.md`` (the Space's YAML header:
``sdk: gradio``, ``app_file: app.py``, the model repository it pulls). Upload the folder as a Space
(``HfApi.upload_folder(repo_type="space")``) or run it locally with ``python app.py``.

Example:
    >>> from zoo.hub.space import write_space
    >>> write_space("gps-esol", "spaces/gps-esol", repo_id="my-org/gps-esol")
    PosixPath('spaces/gps-esol')
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from zoo import __version__
from zoo.errors import InputError
from zoo.io import atomic_write_bytes

SPACE_FILES = ("app.py", "requirements.txt", "README.md")
MARKER = "# Space written by attention-zoo"

APP = '''{marker} {version}: the page of `zoo demo {model}`.
from zoo.demo import build_app

MODEL = {model_json}  # a Hub model repository (or a model name registered in attention-zoo)

demo = build_app(MODEL)

if __name__ == "__main__":
    demo.launch()
'''


def _gradio_version() -> str:
    try:
        import gradio

        return gradio.__version__
    except ImportError:  # the Space installs its own Gradio; fall back to the version this package is tested with
        return "6.31.0"


def _entry_facts(name: str) -> dict:
    from zoo.registry import get_entry

    try:
        e = get_entry(name)
    except KeyError:
        return {"name": name, "task": "", "license": "apache-2.0", "description": "", "repo_id": None}
    repo = e.weights.repo_id if e.weights is not None else None
    return {"name": e.name, "task": e.task, "license": e.license, "description": e.description, "repo_id": repo}


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str) and (":" in v or "#" in v or v[:1] in "[{&*!|>'\"%@`"):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid YAML scalar
    return str(v)


def space_files(name: str, repo_id: str | None = None) -> dict[str, str]:
    """The text of each Space file for model ``name`` pulled from ``repo_id`` (default: the entry's Hub repo, else the name)."""
    facts = _entry_facts(name)
    model = repo_id or facts["repo_id"] or facts["name"]
    if repo_id is not None and (repo_id.count("/") != 1 or repo_id.startswith((".", "/")) or " " in repo_id):
        raise InputError(f"repo_id must look like 'org/name', got {repo_id!r}")
    short = (facts["description"].split(". ")[0] if facts["description"] else f"Try {facts['name']} in the browser")
    short = short if len(short) <= 60 else short[:57].rsplit(" ", 1)[0] + "..."
    header = {
        "title": facts["name"],
        "emoji": "🔭",
        "colorFrom": "indigo",
        "colorTo": "green",
        "sdk": "gradio",
        "sdk_version": _gradio_version(),
        "app_file": "app.py",
        "pinned": False,
        "license": facts["license"],
        "short_description": short,
    }
    yaml = "\n".join(f"{k}: {_yaml_scalar(v)}" for k, v in header.items())
    if "/" in model:
        yaml += f"\nmodels:\n  - {model}"
    readme = (
        f"---\n{yaml}\n---\n\n# {facts['name']}\n\n"
        f"The page of `zoo demo {facts['name']}` (attention-zoo {__version__}): the model `{model}` "
        "runs on the Space's CPU, with bundled examples.\n\n"
        f"Run it locally:\n\n```bash\npip install attention-zoo=={__version__} gradio=={_gradio_version()}\n"
        f"zoo demo {model}\n```\n"
    )
    return {
        "app.py": APP.format(marker=MARKER, version=__version__, model=model, model_json=json.dumps(model)),
        "requirements.txt": f"attention-zoo=={__version__}\n",
        "README.md": readme,
    }


def write_space(name: str, folder: str | os.PathLike, repo_id: str | None = None, overwrite: bool = False) -> Path:
    """Write the Space folder of model ``name`` into ``folder``; returns the folder.

    Refuses a folder that already holds other files, or a Space file not written by attention-zoo,
    unless ``overwrite``. Each file is written atomically.
    """
    folder = Path(folder)
    files = space_files(name, repo_id)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"the Space folder {str(folder)!r} is an existing file; give a folder path")
    if folder.is_dir() and not overwrite:
        others = sorted(p.name for p in folder.iterdir() if p.name not in SPACE_FILES and not p.name.startswith("."))
        ours = (folder / "app.py").is_file() and (folder / "app.py").read_text(errors="replace").startswith(MARKER)
        clash = [f for f in SPACE_FILES if (folder / f).exists()]
        if others or (clash and not ours):
            raise InputError(
                f"{str(folder)!r} already holds {', '.join(others or clash)}: refusing to write a Space there "
                "(choose an empty or new folder, or pass overwrite=True)"
            )
    folder.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        atomic_write_bytes(folder / fname, text.encode())
    return folder
