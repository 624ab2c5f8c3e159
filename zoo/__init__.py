"""attention-zoo: pretrained attention models for five domains behind one front door.

Example:
    >>> import zoo
    >>> zoo.list_models(domain="timeseries")
    >>> model = zoo.load("informer-etth1")
    >>> zoo.info("informer-etth1")["metrics"]
"""

from zoo.config import Config
from zoo.errors import InputError, UnknownModelError, WeightsIntegrityError, WeightsNotFoundError, ZooError
from zoo.loading import build, info, list_models, load

__version__ = "0.1.0"

__all__ = [
    "Config",
    "InputError",
    "UnknownModelError",
    "WeightsIntegrityError",
    "WeightsNotFoundError",
    "ZooError",
    "__version__",
    "build",
    "info",
    "list_models",
    "load",
]
