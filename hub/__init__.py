"""`zoo.hub`: Hub-form folders (config.json + model.safetensors + results.json + README.md card), loading and publishing."""

from .card import card_body, card_data, render_card, write_card
from .pretrained import from_pretrained, hub_config, save_pretrained, verify_folder
from .publish import model_folder, planned_files, publish, publish_space

__all__ = [
    "card_body",
    "card_data",
    "from_pretrained",
    "hub_config",
    "model_folder",
    "planned_files",
    "publish",
    "publish_space",
    "render_card",
    "save_pretrained",
    "verify_folder",
    "write_card",
]
