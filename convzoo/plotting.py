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


def log_scale(axes, which: str = "y", *, minor_labels: bool = False) -> None:
    """A log-scaled ``which`` axis ("x" or "y") whose ticks read as plain numbers: 1e-20, 0.01, 30.

    matplotlib's log tick labels are mathtext (``$\\mathdefault{10^{-20}}$``), which :func:`pyplot` switches off,
    so every log axis in convzoo is set through here. ``minor_labels`` labels the minor ticks too (an axis spanning
    less than a decade has no major tick to read).
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis = axes.yaxis if which == "y" else axes.xaxis
    (axes.set_yscale if which == "y" else axes.set_xscale)("log")
    plain = FuncFormatter(lambda value, _position: f"{value:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain if minor_labels else NullFormatter())
