# SPDX-License-Identifier: MIT
"""convzoo's matplotlib: text drawn as written, and log axes whose ticks read as numbers (not raw mathtext)."""

from convzoo.plotting import log_scale, pyplot


def _tick_texts(figure, axis):
    figure.canvas.draw()
    return [label.get_text() for label in axis.get_ticklabels(which="both") if label.get_text()]


def test_a_log_axis_reads_as_plain_numbers_with_mathtext_switched_off():
    plt = pyplot()
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [1e-23, 1e-10, 10.0])
    log_scale(axes, "y")
    texts = _tick_texts(figure, axes.yaxis)
    # matplotlib's own log labels are "$\mathdefault{10^{-20}}$", drawn literally once parse_math is off (the
    # gradient-norm plots of 2026-12-07 showed them so)
    assert texts and not any("$" in text or "mathdefault" in text for text in texts), texts
    assert "1e-21" in texts and "1e-12" in texts  # every third decade over 24 of them
    plain, raw = plt.subplots()[1], None
    plain.plot([1, 2, 3], [1e-23, 1e-10, 10.0])
    plain.set_yscale("log")
    raw = _tick_texts(plain.figure, plain.yaxis)
    assert any("mathdefault" in text for text in raw)  # what log_scale replaces: the reason it exists
    figure2, narrow = plt.subplots()
    narrow.plot([30, 40, 60], [1, 2, 3])
    log_scale(narrow, "x", minor_labels=True)  # under a decade: only minor ticks, labelled
    assert {"40", "60"} <= set(_tick_texts(figure2, narrow.xaxis))
    for fig in (figure, plain.figure, figure2):
        plt.close(fig)
