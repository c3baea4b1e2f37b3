# SPDX-License-Identifier: MIT
"""matplotlib for headless machines: the one place that chooses its backend.

Every plot in convzoo (the compare report, the lab's experiments, ``convzoo eval``'s confusion matrix)
runs where no display may exist, a server or CI, so pyplot is imported only after selecting the
non-interactive Agg backend. matplotlib is imported when a plot is drawn, never at package import:
most commands draw nothing and should not pay for it.
"""

from __future__ import annotations


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend selected (files only, no window), and text drawn as written:
    ``$`` does not start mathtext (a class named ``a$b`` made drawing fail, one named ``$x$`` was set as math)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt
