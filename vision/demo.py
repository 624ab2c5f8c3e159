"""The image classification demo page: an image in, the top-5 labels with probabilities out.

Example:
    >>> from zoo.vision.demo import build, classify
    >>> model = zoo.load("swin-cifar10")
    >>> classify(model, "cat.jpg")          # {"cat": 0.61, "dog": 0.22, ...}
    >>> build(model).launch()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.demo import asset, describe, user_errors
from zoo.errors import InputError

if TYPE_CHECKING:
    import gradio

EXAMPLES = ("cifar10-cat.jpg", "cifar10-ship.jpg", "cifar10-horse.jpg", "cifar10-automobile.jpg")  # CIFAR-10 test images


def example_inputs(model=None) -> list[str]:
    """Bundled example images (CIFAR-10 test images, 32 x 32)."""
    return [str(asset(n)) for n in EXAMPLES if asset(n).is_file()]


def classify(model, image, topk: int = 5) -> dict[str, float]:
    """``{label: probability}`` of the ``topk`` classes for a PIL image or an image file path."""
    from zoo.vision.cli import predict

    if image is None:
        raise InputError("no image given: upload an image (JPEG, PNG, ...) or pick an example")
    if hasattr(image, "convert"):
        image = image.convert("RGB")
    rows = predict(model, [image], topk=topk)[0]
    return {name: round(p, 6) for _, name, p in rows}


def build(model, title: str | None = None) -> gradio.Blocks:
    """The page: image upload (or example), Classify button, top-5 label bars."""
    import gradio as gr

    pre = dict(model.config.get("preprocessing", {}) or {})
    size = pre.get("input_size", [3, 224, 224])
    with gr.Blocks(title=title or "classify") as app:
        gr.Markdown(describe(model, title or str(model.config.get("name"))))
        gr.Markdown(f"Any image is resized and cropped to {size[1]} x {size[2]} as in training; "
                    f"the model knows {model.num_classes} classes.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                image = gr.Image(type="pil", label="image", elem_id="image", height=320)
                examples = example_inputs(model)
                if examples:
                    gr.Examples([[p] for p in examples], inputs=[image], label="CIFAR-10 test images")
                run = gr.Button("Classify", variant="primary", elem_id="run")
            with gr.Column():
                labels = gr.Label(num_top_classes=5, label="top-5 classes", elem_id="labels")
        run.click(user_errors(lambda im: classify(model, im)), [image], [labels])
    return app
