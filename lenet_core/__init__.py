"""lenet_core: LeNet-5 on MNIST and Fashion-MNIST — model, data, training, run store, inference.

The library under LeNet Lab's dashboard and CLI. It never imports streamlit.
"""

from .config import PRESETS, ConfigError, TrainConfig, preset
from .model import build_lenet, summary
from .version import __version__

__all__ = ["PRESETS", "ConfigError", "TrainConfig", "__version__", "build_lenet", "preset", "summary"]
