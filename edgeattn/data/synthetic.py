"""Procedural task data (images, hazy/clean pairs, flow pairs, segmentation scenes): the generators live in
the floor module `edgeattn.scenes` (the models calibrate on them and must not import `data`); re-exported here.
"""

from ..scenes import *  # noqa: F403
from ..scenes import __all__  # noqa: F401
