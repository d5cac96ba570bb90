"""Moved to `edgeattn.data.inputs`; re-exported here."""

from ..data.inputs import __all__, make_inputs  # noqa: F401
