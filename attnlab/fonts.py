"""Hangul in every figure: Korean translations and labels must not turn into empty boxes.

On import, the NanumGothic fonts shipped by the ``koreanize-matplotlib`` package are registered with matplotlib and
become the fallback after DejaVu Sans: Latin text looks as before, Hangul finds its glyphs. ``import attnlab`` does
this, so it holds for every figure drawn after it, with or without ``attnlab.viz``.

Book: used by every chapter (no chapter of its own).
"""

import importlib.util
import pathlib

import matplotlib
from matplotlib import font_manager

FAMILY = ["DejaVu Sans", "NanumGothic"]


def use_hangul_font() -> None:
    """Register NanumGothic and make it the fallback font (``rcParams["font.family"] = FAMILY``)."""
    package = importlib.util.find_spec("koreanize_matplotlib")
    fonts = pathlib.Path(package.submodule_search_locations[0]) / "fonts"
    for path in sorted(fonts.glob("NanumGothic*.ttf")):
        font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = FAMILY


use_hangul_font()
