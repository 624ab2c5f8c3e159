"""`zoo.timeseries`: long-horizon forecasting (Informer, Autoformer, DLinear, NLinear) on the LTSF protocol.

Example:
    >>> import zoo
    >>> model = zoo.load("informer-etth1")                    # trained here on ETTh1, horizon 96
    >>> y = model.forecast(past_values, past_timestamps)      # [B, 96, 7], original units
"""

from . import autoformer, informer, linear, registry  # noqa: F401 - registers architectures and entries
from .api import ForecastMixin
from .autoformer import Autoformer
from .data import ForecastDataModule, time_features
from .informer import Informer
from .linear import DLinear, NLinear

__all__ = ["Autoformer", "DLinear", "ForecastDataModule", "ForecastMixin", "Informer", "NLinear", "time_features"]
