"""The molecular property demo page: a SMILES in, the prediction with units and a drawing out.

Example:
    >>> from zoo.graph.demo import build, predict_one
    >>> model = zoo.load("gps-esol")
    >>> text, image = predict_one(model, "CCO")       # markdown, PIL drawing of ethanol
    >>> build(model).launch()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.demo import describe, user_errors
from zoo.errors import InputError

if TYPE_CHECKING:
    import gradio

EXAMPLES = {"CCO": "ethanol", "c1ccccc1": "benzene", "CC(=O)Oc1ccccc1C(=O)O": "aspirin",
            "CN1C=NC2=C1C(=O)N(C(=O)N2C)C": "caffeine", "ClC(Cl)(Cl)Cl": "carbon tetrachloride"}  # fmt: skip


def example_inputs(model=None) -> list[str]:
    """A few well-known molecules as SMILES."""
    return list(EXAMPLES)


def _check_smiles_model(model) -> None:
    if not hasattr(model, "predict_smiles"):
        raise InputError(f"{model.config.get('name')} does not take SMILES (it reads TU graph files); no demo page for it")
    check = getattr(model, "_check_reads_molecules", None)  # a TU-graph model says which vocabulary it reads
    if callable(check):
        check()


def predictions(model, smiles: str) -> tuple[dict[str, float], str, bool]:
    """``({task name: value}, units, is_classification)`` for one SMILES; `InputError` for an invalid one."""
    _check_smiles_model(model)
    smiles = (smiles or "").strip()
    if not smiles:
        raise InputError("no SMILES given: type one, e.g. CCO (ethanol)")
    pre = dict(model.config.get("preprocessing", {}) or {})
    values = model.predict_smiles([smiles])[0].tolist()
    names = list(pre.get("task_names") or [f"task {i}" for i in range(len(values))])
    classification = str(getattr(model, "task", "")) == "classification"
    return dict(zip(names, values)), str(pre.get("units", "")), classification


def draw(smiles: str, size: int = 360):
    """RDKit 2D drawing of a SMILES (PIL image)."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"RDKit cannot parse the SMILES {smiles!r}")
    return Draw.MolToImage(mol, size=(size, size))


def predict_one(model, smiles: str) -> tuple[str, object]:
    """Markdown with the prediction(s) and units, and the molecule's drawing."""
    values, units, classification = predictions(model, smiles)
    smiles = smiles.strip()
    name = EXAMPLES.get(smiles)
    head = f"**{smiles}**" + (f" ({name})" if name else "")
    if classification:
        rows = [f"- {task}: **{v:.3f}**" + (f" ({units})" if units else " (probability)") for task, v in values.items()]
    else:
        rows = [f"- {task}: **{v:.3f}** {units}" for task, v in values.items()]
    return "\n".join([head, *rows]), draw(smiles)


def build(model, title: str | None = None) -> gradio.Blocks:
    """The page: SMILES box (or example), Predict button; prediction with units and the molecule drawing."""
    import gradio as gr

    _check_smiles_model(model)
    with gr.Blocks(title=title or "predict") as app:
        gr.Markdown(describe(model, title or str(model.config.get("name"))))
        gr.Markdown("Type a molecule as a SMILES string (e.g. `CCO` for ethanol).")
        with gr.Row():
            with gr.Column():
                smiles = gr.Textbox(label="SMILES", placeholder="CCO", elem_id="smiles")
                gr.Examples([[s] for s in EXAMPLES], inputs=[smiles], example_labels=list(EXAMPLES.values()))
                run = gr.Button("Predict", variant="primary", elem_id="run")
                result = gr.Markdown(elem_id="prediction")
            with gr.Column():
                image = gr.Image(label="molecule", elem_id="molecule", interactive=False, height=360)
        fn = user_errors(lambda s: predict_one(model, s))
        run.click(fn, [smiles], [result, image])
        smiles.submit(fn, [smiles], [result, image])
    return app
