"""crlib.widgets: static frames for the book, live redraws on a kernel, bad input."""

import base64
import html.parser
import io

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

from crlib import widgets as cw


def _draw(fig, a=1.0, b=0):
    ax = fig.add_subplot()
    x = np.linspace(0, 10, 200)
    ax.plot(x, np.sin(a * x) + b)
    ax.set_ylim(-2, 3)


def _controls():
    return {"a": W.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.1, description="a"),
            "b": W.Dropdown(options=[("zero", 0), ("one", 1)], value=0, description="b")}


class _Capture:
    def __init__(self, monkeypatch):
        self.calls = []
        import IPython.display
        monkeypatch.setattr(IPython.display, "display", self)

    def __call__(self, *objs, **kw):
        self.calls.append((objs, kw))

        class H:
            def update(_, obj, **kw):
                self.calls.append((("update", obj), kw))
        return H()


class _Parse(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.ranges = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "input" and a.get("type") == "range":
            self.ranges.append(a)


def test_static_output_has_one_visible_default_frame_and_a_range(monkeypatch):
    cap = _Capture(monkeypatch)
    frames = [0.5, 2.0, 3.0]  # the default 1.0 is added
    fig, box = cw.live_figure(_draw, _controls(), scrub="a", frames=frames, live=False)
    assert box is None
    (bundle,), kw = cap.calls[-1]
    assert kw == {"raw": True}
    p = _Parse()
    p.feed(bundle["text/html"])
    assert len(p.imgs) == 4
    visible = [im for im in p.imgs if "hidden" not in im]
    assert len(visible) == 1 and visible[0]["data-frame"] == "1"   # sorted: 0.5, 1.0, 2, 3
    assert p.ranges[0]["max"] == "3" and p.ranges[0]["value"] == "1"
    # every frame is a decodable PNG, and they differ
    pngs = [base64.b64decode(im["src"].split(",", 1)[1]) for im in p.imgs]
    sizes = {Image.open(io.BytesIO(b)).size for b in pngs}
    assert len(sizes) == 1
    assert len(set(pngs)) == 4
    # the image/png alternative is the default frame
    assert base64.b64decode(bundle["image/png"]) == pngs[1]
    text = bundle["text/html"]
    assert "4 frames" in text and "b = zero" in text and "Binder" in text


def test_static_frames_are_the_drawn_figures(monkeypatch):
    """The frame for a value is the figure drawn at that value (compare pixels)."""
    cap = _Capture(monkeypatch)
    cw.live_figure(_draw, _controls(), scrub="b", live=False)
    (bundle,), _ = cap.calls[-1]
    p = _Parse()
    p.feed(bundle["text/html"])
    assert len(p.imgs) == 2
    import matplotlib.pyplot as plt
    for im, b in zip(p.imgs, (0, 1)):
        fig = plt.figure(figsize=(7.0, 4.2))
        _draw(fig, a=1.0, b=b)
        ref = np.asarray(Image.open(io.BytesIO(cw._png(fig, 72))).convert("RGB"), dtype=float)
        plt.close(fig)
        got = np.asarray(Image.open(io.BytesIO(base64.b64decode(im["src"].split(",", 1)[1]))).convert("RGB"),
                         dtype=float)
        assert np.abs(got - ref).mean() < 1.0


def test_live_redraws_on_change(monkeypatch):
    cap = _Capture(monkeypatch)
    c = _controls()
    seen = []

    def draw(fig, a, b):
        seen.append((a, b))
        _draw(fig, a, b)

    fig, box = cw.live_figure(draw, c, live=True)
    assert isinstance(box, W.VBox) and seen == [(1.0, 0)]
    c["a"].value = 2.0
    c["b"].value = 1
    assert seen == [(1.0, 0), (2.0, 0), (2.0, 1)]
    updates = [objs[1] for objs, _ in cap.calls if objs and objs[0] == "update"]
    assert len(updates) == 2
    pngs = [base64.b64decode(u["image/png"]) for u in updates]
    assert pngs[0] != pngs[1] and all(Image.open(io.BytesIO(p)).size == (700, 420) for p in pngs)
    assert cw.LAST["seconds"] >= 0 and "redrawn" in box.children[-1].value


def test_scrub_frames_defaults():
    s = W.FloatSlider(value=0.33, min=0.2, max=0.7)
    f = cw.scrub_frames(s, n=6)
    assert f[0] == pytest.approx(0.2) and f[-1] == pytest.approx(0.7) and 0.33 in f
    lg = W.FloatLogSlider(value=0.3, base=10, min=-3, max=2)
    f = cw.scrub_frames(lg, n=6)
    assert f[0] == pytest.approx(1e-3) and f[-1] == pytest.approx(100.0) and 0.3 in f
    i = W.IntSlider(value=20, min=10, max=60, step=10)
    assert all(isinstance(x, int) for x in cw.scrub_frames(i, n=6))
    assert cw.scrub_frames(W.Dropdown(options=["x", "y"])) == ["x", "y"]


def test_mode_from_environment(monkeypatch):
    monkeypatch.setenv("CRLIB_WIDGETS", "live")
    assert cw.is_live()
    monkeypatch.setenv("CRLIB_WIDGETS", "static")
    assert not cw.is_live()
    monkeypatch.setenv("CRLIB_WIDGETS", "maybe")
    with pytest.raises(ValueError, match="CRLIB_WIDGETS"):
        cw.is_live()
    monkeypatch.delenv("CRLIB_WIDGETS")
    assert not cw.is_live()  # no kernel under pytest


def test_bad_input():
    with pytest.raises(ValueError, match="scrub"):
        cw.live_figure(_draw, _controls(), scrub="zz", live=False)
    with pytest.raises(ValueError, match="controls"):
        cw.live_figure(_draw, {}, live=False)
    with pytest.raises(ValueError, match="dpi"):
        cw.live_figure(_draw, _controls(), dpi=0, live=False)
    with pytest.raises(ValueError, match="n must"):
        cw.scrub_frames(W.FloatSlider(), n=1)
    with pytest.raises(ValueError, match="default"):
        cw.scrubber_html([b"x"], ["a"], 3, "a")
    with pytest.raises(ValueError, match="frames"):
        cw.scrubber_html([], [], 0, "a")
