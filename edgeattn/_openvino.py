"""The one place edgeattn imports OpenVINO: with its usage telemetry off.

`import openvino` itself initialises OpenVINO's telemetry (openvino/tools/ovc/__init__.py sends an "import"
event, and `convert_model` sends more), through the `openvino_telemetry` singleton, which decides consent once,
when it is first configured. The supported switches are the user-wide consent file written by
`opt_in_out --opt_out` (~/intel/openvino_telemetry) and the `disable_in_ci` rule OpenVINO's own tools pass, which
declines consent when `CI=true`. OpenVINO's tools re-decide consent whenever another tool name configures the
singleton (ovc/telemetry_utils.py re-inits it: "OpenVINO" at import, "OVC" in convert_model), so the rule must hold
at each of those moments. edgeattn must not change a user's global setting, so `telemetry_off()` sets `CI=true`
only around the calls that configure telemetry (the first `import openvino`, `convert_model`, and anything else
that runs OpenVINO's tools, e.g. NNCF) and restores the environment right after. Use `import_openvino()` and
`with telemetry_off():` and nothing else. `telemetry_state()` says what the singleton decided. Docker images can
also run `opt_in_out --opt_out` (the user-wide switch; docker/README.md).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = ["import_openvino", "telemetry_off", "telemetry_state"]


@contextlib.contextmanager
def telemetry_off() -> Iterator[None]:
    """Within the block, OpenVINO's tools configure their telemetry with consent declined (disable_in_ci)."""
    old = os.environ.get("CI")
    os.environ["CI"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = old


def import_openvino() -> ModuleType:
    """`import openvino` with telemetry declined (the import itself configures it and sends an event)."""
    if "openvino" in sys.modules:
        return sys.modules["openvino"]
    with telemetry_off():
        import openvino
    return openvino


def telemetry_state() -> str:
    """'off', 'on', or 'absent' (no openvino_telemetry package: nothing can be sent)."""
    tm = sys.modules.get("openvino_telemetry")
    if tm is None:
        return "absent"
    try:
        return "on" if tm.Telemetry().consent else "off"
    except RuntimeError:  # never configured
        return "absent"
