"""Figures with controls, for a live kernel and for the static book.

A chapter calls :func:`live_figure` with a drawing function and its
ipywidgets controls. What it shows depends on who runs the cell:

* **A live kernel** (JupyterLab, Binder, VS Code): the controls appear above
  the figure and every change redraws the same figure in place, through an
  IPython display handle, which is much lighter than an ``interact`` output
  area. Sliders redraw when released (``continuous_update`` is switched off).
  A small label under the controls gives the time of the last redraw.
* **The book build** (myst-nb executing the chapter with no one watching): no
  kernel will be there when the page is read, so live controls would be dead.
  Instead the figure is drawn for a few values of one control (``scrub``) and
  the frames are emitted as one HTML output: the figure for the default values
  as an ordinary ``<img>`` (what a reader without JavaScript sees), and a range
  input that switches between the precomputed frames. The output states the
  number of frames and its own weight; the other controls are named with their
  fixed values and a line saying they are live on Binder. The same output also
  carries the default frame as ``image/png`` for formats that cannot show HTML.

The two cases are told apart by the execute request: a notebook front end
allows ``input()`` (``allow_stdin``), the build's executor (nbclient) does not.
The environment variable ``CRLIB_WIDGETS`` (``live`` or ``static``) overrides
the guess.
"""

import base64
import html
import io
import json
import os
import time

import numpy as np
import matplotlib.pyplot as plt

__all__ = ["live_figure", "is_live", "scrub_frames", "scrubber_html"]


#: The last live figure made (its controls, redraw and timings), for scripts that
#: measure a redraw, such as ``browser/kernel_memory.py``.
LAST = {}


def is_live():
    """Whether the running kernel has a notebook front end that can show widgets.

    Returns
    -------
    bool
        ``True`` when ``CRLIB_WIDGETS=live``, or when it is unset and the current
        execute request came from a front end that allows standard input
        (JupyterLab, Notebook, VS Code); ``False`` for ``CRLIB_WIDGETS=static``,
        for the book build (nbclient sends ``allow_stdin=False``) and outside an
        IPython kernel.
    """
    mode = os.environ.get("CRLIB_WIDGETS", "").strip().lower()
    if mode in ("live", "static"):
        return mode == "live"
    if mode:
        raise ValueError(f"CRLIB_WIDGETS must be 'live', 'static' or unset, got {mode!r}")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


def _send_no_widget_models():
    """Keep ipywidgets from sending models to a front end that will never exist.

    At the book build every control is read in Python only (its value and its
    frames); if its model were sent, nbclient would store it in the notebook's
    widget state and myst-nb would load require.js and the widget manager from a
    CDN on every page, to draw no view at all. The controls are given comms
    that publish nothing instead (the ``comm`` package's ``DummyComm``).
    """
    try:
        import comm
        import ipywidgets.comm as ipw_comm
    except ImportError:  # pragma: no cover - very old ipywidgets
        return
    if getattr(ipw_comm.create_comm, "_crlib_quiet", False):
        return

    def create_comm(*args, **kwargs):
        return comm.DummyComm(*args, **kwargs)

    create_comm._crlib_quiet = True
    ipw_comm.create_comm = create_comm


def _control_label(name, w):
    desc = getattr(w, "description", "") or name
    return desc


def _format_value(w, v):
    labels = getattr(w, "_options_labels", None)
    values = getattr(w, "_options_values", None)
    if labels is not None and values is not None:
        for lab, val in zip(labels, values):
            if val == v:
                return str(lab)
        return str(v)
    if isinstance(v, (tuple, list)):
        return "–".join(_format_value(w, x) for x in v)
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)


def scrub_frames(w, n=9):
    """Default frame values for control ``w``: every option, or ``n`` values spanning a slider.

    Parameters
    ----------
    w : ipywidgets.Widget
        A selection widget (``Dropdown``, ``RadioButtons``, ...) or a numeric
        slider (``FloatSlider``, ``IntSlider``, ``FloatLogSlider``).
    n : int
        Number of values across a slider's range (the default value is added).

    Returns
    -------
    list
        Sorted frame values, always containing ``w.value``.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    values = getattr(w, "_options_values", None)
    if values is not None:
        return list(values)
    if not all(hasattr(w, a) for a in ("min", "max", "value")):
        raise ValueError(f"cannot make frames for a {type(w).__name__}; pass frames=")
    if hasattr(w, "base"):  # FloatLogSlider: min and max are exponents
        grid = list(w.base ** np.linspace(w.min, w.max, n))
    else:
        grid = list(np.linspace(w.min, w.max, n))
        if isinstance(w.value, (int, np.integer)) and not isinstance(w.value, bool):
            grid = [int(round(x)) for x in grid]
    grid = [float(x) if isinstance(x, np.floating) else x for x in grid]
    if not any(np.isclose(x, w.value) for x in grid):
        grid.append(w.value)
    return sorted(set(grid))


def _png(fig, dpi):
    """PNG bytes of ``fig``, quantised to a 256-colour palette when Pillow is there."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = buf.getvalue()
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return data
    im = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="png", optimize=True)
    small = out.getvalue()
    return small if len(small) < len(data) else data


def scrubber_html(frames, labels, default, name, fixed=(), uid=None):
    """HTML of a range input that switches between precomputed PNG frames.

    Parameters
    ----------
    frames : list of bytes
        PNG images, one per position of the range input.
    labels : list of str
        The control's value for each frame, as shown to the reader.
    default : int
        Index of the frame drawn for the controls' default values; it is the
        one visible without JavaScript.
    name : str
        The control's description.
    fixed : sequence of (str, str)
        The other controls and their fixed values, listed as live on Binder.
    uid : str, optional
        Element id prefix (made from the frames if omitted).

    Returns
    -------
    str
    """
    if len(frames) == 0 or len(frames) != len(labels):
        raise ValueError(f"frames and labels must be non-empty and of equal length, got {len(frames)} and {len(labels)}")
    if not 0 <= default < len(frames):
        raise ValueError(f"default must be in [0, {len(frames) - 1}], got {default}")
    uid = uid or f"crlib-scrub-{abs(hash(tuple(len(f) for f in frames) + tuple(labels))):x}"
    esc = html.escape
    imgs = "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(f).decode()}" '
        f'alt="{esc(name)} = {esc(lab)}" data-frame="{i}" style="max-width:100%;height:auto"'
        f'{"" if i == default else " hidden"}>'
        for i, (f, lab) in enumerate(zip(frames, labels)))
    weight = sum(len(f) for f in frames) * 4 / 3 / 1024
    note = (f"{len(frames)} frames computed when the book was built, {weight:.0f} kB of images. ")
    if fixed:
        note += ("Fixed here: " + ", ".join(f"{esc(n)} = {esc(v)}" for n, v in fixed)
                 + "; all controls are live when the chapter runs on Binder.")
    else:
        note += "The control is live, with any value, when the chapter runs on Binder."
    js_labels = json.dumps(labels).replace("</", "<\\/")
    # The range input stays hidden unless the script runs, so that a reader
    # without JavaScript sees the default figure and no dead control.
    return (
        f'<div class="crlib-scrubber" id="{uid}">'
        f'<div class="crlib-scrub-controls" hidden>'
        f'<label for="{uid}-range">{esc(name)}</label> '
        f'<input type="range" id="{uid}-range" min="0" max="{len(frames) - 1}" step="1" value="{default}" '
        f'style="vertical-align:middle;width:14em"> '
        f'<output for="{uid}-range">{esc(labels[default])}</output>'
        f'</div>'
        f'<div class="crlib-scrub-frames">{imgs}</div>'
        f'<p class="crlib-scrub-note" style="font-size:85%;margin:0.2em 0">{note}</p>'
        f'<script>(function () {{'
        f'var root = document.getElementById("{uid}");'
        f'var labels = {js_labels};'
        'var range = root.querySelector("input[type=range]");'
        'var out = root.querySelector("output");'
        'var imgs = root.querySelectorAll(".crlib-scrub-frames img");'
        'range.addEventListener("input", function () {'
        'var k = Number(range.value);'
        'imgs.forEach(function (im, i) { im.hidden = (i !== k); });'
        'out.textContent = labels[k];'
        '});'
        'root.querySelector(".crlib-scrub-controls").hidden = false;'
        '})();</script>'
        '</div>'
    )


def _values(controls):
    return {name: w.value for name, w in controls.items()}


def live_figure(draw, controls, figsize=(7.0, 4.2), *, scrub=None, frames=None, dpi=72,
                live=None, **subplot_kw):
    """Draw ``draw(fig, **values)``; live controls on a kernel, precomputed frames in the book.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` clears nothing itself: the figure is cleared
        before each call. It receives the current value of every control.
    controls : dict
        Mapping name -> ipywidgets control (``FloatSlider``, ``Dropdown``, ...).
    figsize : tuple
        Figure size in inches.
    scrub : str, optional
        The control that works on the static page (default: the first one).
    frames : sequence, optional
        Values of ``scrub`` drawn for the static page (default:
        :func:`scrub_frames`). The control's default value is added if missing.
    dpi : int
        Resolution of the static frames.
    live : bool, optional
        Force the live (``True``) or static (``False``) behaviour; default
        :func:`is_live`.
    **subplot_kw
        Passed to :func:`matplotlib.pyplot.figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    box : ipywidgets.VBox or None
        Live: the controls and a small label with the redraw time. Static:
        ``None``.
    """
    from IPython.display import display

    if not controls:
        raise ValueError("controls must name at least one control")
    if scrub is None:
        scrub = next(iter(controls))
    if scrub not in controls:
        raise ValueError(f"scrub must be one of {list(controls)}, got {scrub!r}")
    if dpi <= 0:
        raise ValueError(f"dpi must be positive, got {dpi}")
    live = is_live() if live is None else bool(live)
    if not live:
        _send_no_widget_models()

    fig = plt.figure(figsize=figsize, **subplot_kw)
    if live:
        import ipywidgets as widgets

        status = widgets.HTML()

        def bundle():
            # one rendering pass at the figure's own size (the inline backend's
            # bbox_inches="tight" would draw the figure twice)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            return {"image/png": base64.b64encode(buf.getvalue()).decode(),
                    "text/plain": repr(fig)}

        def redraw(*_):
            t0, c0 = time.perf_counter(), time.process_time()
            fig.clear()
            draw(fig, **_values(controls))
            handle.update(bundle(), raw=True)
            dt = time.perf_counter() - t0
            LAST["seconds"] = dt
            LAST["cpu_seconds"] = time.process_time() - c0  # what a redraw costs on an idle core
            status.value = f"<small>redrawn in {dt:.2f} s</small>"

        # Redraw once when a slider is released, not for every value it passes
        # through while dragged: some chapters' figures take seconds to compute.
        for w in controls.values():
            if hasattr(w, "continuous_update"):
                w.continuous_update = False
        fig.clear()
        draw(fig, **_values(controls))
        box = widgets.VBox(list(controls.values()) + [status])
        display(box)
        handle = display(bundle(), raw=True, display_id=True)
        plt.close(fig)
        for w in controls.values():
            w.observe(redraw, names="value")
        LAST.update(fig=fig, box=box, controls=controls, redraw=redraw, seconds=None)
        return fig, box

    w = controls[scrub]
    vals = list(scrub_frames(w) if frames is None else frames)
    if not vals:
        raise ValueError("frames must not be empty")
    if not any(_same(v, w.value) for v in vals):
        vals.append(w.value)
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
            vals.sort()
    default = next(i for i, v in enumerate(vals) if _same(v, w.value))
    base = _values(controls)
    pngs = []
    for v in vals:
        fig.clear()
        draw(fig, **{**base, scrub: v})
        pngs.append(_png(fig, dpi))
    # leave the figure drawn at the defaults, as the live case does
    fig.clear()
    draw(fig, **base)
    plt.close(fig)
    labels = [_format_value(w, v) for v in vals]
    fixed = [(_control_label(n, c), _format_value(c, c.value)) for n, c in controls.items() if n != scrub]
    page = scrubber_html(pngs, labels, default, _control_label(scrub, w), fixed)
    display({"text/html": page,
             "image/png": base64.b64encode(pngs[default]).decode(),
             "text/plain": f"<figure: {len(pngs)} frames of {_control_label(scrub, w)}>"},
            raw=True)
    return fig, None


# The chapters import this module before they make their controls.
if not is_live():
    _send_no_widget_models()


def _same(a, b):
    if isinstance(a, (int, float, np.integer, np.floating)) and isinstance(b, (int, float, np.integer, np.floating)):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0))
    return a == b
