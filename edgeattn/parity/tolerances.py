"""Moved to `edgeattn.verify.tolerances` (verify must judge bundles without torch); re-exported here."""

from ..verify.tolerances import *  # noqa: F403
from ..verify.tolerances import __all__  # noqa: F401
