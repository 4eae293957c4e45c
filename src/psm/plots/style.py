"""One figure style for every psm plot, public so that applications draw in the same style: colour-blind-safe colours, readable type, no chart junk.

Colours are from the Okabe & Ito (2008) palette, distinguishable under the common colour-vision
deficiencies; every pair used together also differs in marker shape or hatching, so figures survive
greyscale printing. Figures are built with :class:`matplotlib.figure.Figure` directly (never pyplot), so
no global state is touched and nothing is shown; notebooks display the returned Figure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.figure import Figure

# Okabe-Ito
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
GREY = "#7F7F7F"
LIGHT_GREY = "#E5E5E5"

UNMATCHED = VERMILLION  # "before" in balance plots
MATCHED = BLUE  # "after"
TREATED = BLUE
CONTROL = ORANGE
OFF_SUPPORT = PURPLE

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
}


@contextmanager
def styled() -> Iterator[None]:
    """Apply the psm style while artists are created."""
    with mpl.rc_context(RC):
        yield


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list]:
    """A constrained-layout Figure with ``ncols`` axes side by side (call inside :func:`styled`)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)
