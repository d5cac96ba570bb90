"""Moved to `edgeattn.verify.compare` (verify must judge bundles without torch); re-exported here."""

from ..verify.compare import *  # noqa: F403
from ..verify.compare import __all__, _fmt  # noqa: F401
