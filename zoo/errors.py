"""Exceptions with messages a user can act on."""

from __future__ import annotations


class ZooError(Exception):
    """Base class of the zoo's own errors."""


class UnknownModelError(ZooError, KeyError):
    """A model or architecture name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsNotFoundError(ZooError, FileNotFoundError):
    """No source of an entry's weights could be reached."""


class WeightsIntegrityError(ZooError, ValueError):
    """A weights file is corrupted, truncated, of the wrong format, or has other keys or shapes."""


class InputError(ZooError, ValueError):
    """User input of the wrong shape, type, range or format."""
