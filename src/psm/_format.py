"""Number formats shared by the Stata-like text tables (psmatch2's and pstest's)."""

from __future__ import annotations

import numpy as np


def stata_g(value: float, width: int) -> str:
    """Stata ``%<width>.0g``-like: as many significant digits (at most 8) as fit in ``width``
    characters, right-aligned; ``.`` for missing, as Stata prints it."""
    if not np.isfinite(value):
        return ".".rjust(width)
    for digits in range(min(width, 8), 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= width:
            return text.rjust(width)
    return f"{value:.{1 if width < 9 else 2}e}".rjust(width)
