"""Python `openvino.Op` classes whose `evaluate` runs an edgeattn numpy reference (imported lazily).

OpenVINO calls `evaluate` on the CPU plugin for ops it has no kernel for (the node runs as a "reference"
node inside the compiled model). This is the portable OpenVINO mapping; a C++ extension library or a
decomposition into native ops would be faster, and would be the next step for production use.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["make_numpy_op"]


def make_numpy_op(type_name: str, out_input: int, fn: Callable[[list[np.ndarray], dict], np.ndarray],
                  defaults: dict) -> type:
    """An openvino.Op subclass named `type_name`: output 0 has the type and shape of input `out_input`.

    `defaults` gives every attribute with a value of its type: reading an IR (model.xml) constructs the op
    without attributes and lets `visit_attributes` fill this dict in place, so the keys must exist.
    """
    from openvino import Op

    class NumpyOp(Op):
        def __init__(self, inputs=None, attrs=None) -> None:  # noqa: ANN001
            super().__init__(self, inputs)
            self._attrs = {**defaults, **dict(attrs or {})}
            if inputs is not None:
                self.constructor_validate_and_infer_types()

        def validate_and_infer_types(self) -> None:
            self.set_output_type(0, self.get_input_element_type(out_input), self.get_input_partial_shape(out_input))

        def clone_with_new_inputs(self, new_inputs):  # noqa: ANN001, ANN201
            return NumpyOp(new_inputs, self._attrs)

        def get_type_name(self) -> str:
            return type_name

        def visit_attributes(self, visitor) -> bool:  # noqa: ANN001
            visitor.on_attributes(self._attrs)
            return True

        def has_evaluate(self) -> bool:
            return True

        def evaluate(self, outputs, inputs) -> bool:  # noqa: ANN001
            result = fn([np.asarray(t.data) for t in inputs], self._attrs)
            outputs[0].shape = result.shape
            np.copyto(outputs[0].data, result)
            return True

    NumpyOp.__name__ = NumpyOp.__qualname__ = type_name
    return NumpyOp
