"""Model registry and builders. Each task module is imported here explicitly to fill the registry."""

from . import segmentation  # noqa: F401  (registers the segmentation models)
from . import dehaze, flow  # noqa: F401  (register the dehazing and optical-flow models)
from . import inpaint  # noqa: F401  (registers psal_inpaint)
from ._registry import InputSpec, ModelSpec, check_input_size, create_model, get_model_spec, list_models, register_model
from .checkpoint import load_checkpoint

__all__ = ["InputSpec", "ModelSpec", "check_input_size", "create_model", "get_model_spec", "list_models",
           "register_model", "load_checkpoint"]
