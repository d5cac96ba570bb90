"""The tolerance table, as verify applies it. It lives in `edgeattn.bundle.tolerances` because both sides of the
bundle need it and neither may import the other: export decides and stores the tolerances at export time, verify
judges with what was stored. Re-exported here (and in `edgeattn.parity.tolerances`)."""

from ..bundle.tolerances import *  # noqa: F403
from ..bundle.tolerances import __all__  # noqa: F401
