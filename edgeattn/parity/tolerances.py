"""Moved to `edgeattn.verify.tolerances` (verify must judge bundles without torch); re-exported here."""

from ..bundle.tolerances import *  # noqa: F403
from ..bundle.tolerances import __all__  # noqa: F401
