"""Widgets whose first drawing is an ordinary static figure.

A chapter calls :func:`live_figure` with a drawing function and its sliders.
The figure for the default slider values is displayed as a normal image
output, so the rendered book shows it without any JavaScript; on Binder the
sliders appear above it and every change redraws the same figure in place
(through an IPython display handle), which is much lighter than an
``interact`` output area.
"""

import time

import matplotlib.pyplot as plt

__all__ = ["live_figure"]


def live_figure(draw, controls, figsize=(7.0, 4.2), **subplot_kw):
    """Draw ``draw(fig, **values)`` once, show it, and redraw it when a control changes.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` clears nothing itself: the figure is cleared
        before each call. It receives the current value of every control.
    controls : dict
        Mapping name -> ipywidgets control (``FloatSlider``, ``Dropdown``, ...).
    figsize : tuple
        Figure size in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    box : ipywidgets.VBox
        The controls and a small label with the redraw time.
    """
    import ipywidgets as widgets
    from IPython.display import display

    fig = plt.figure(figsize=figsize, **subplot_kw)
    status = widgets.HTML()

    def values():
        return {name: w.value for name, w in controls.items()}

    def redraw(*_):
        t0 = time.perf_counter()
        fig.clear()
        draw(fig, **values())
        handle.update(fig)
        status.value = f"<small>redrawn in {time.perf_counter() - t0:.2f} s</small>"

    fig.clear()
    draw(fig, **values())
    box = widgets.VBox(list(controls.values()) + [status])
    display(box)
    handle = display(fig, display_id=True)
    plt.close(fig)
    for w in controls.values():
        w.observe(redraw, names="value")
    return fig, box
