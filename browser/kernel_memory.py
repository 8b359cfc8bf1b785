"""Peak memory of each chapter's kernel on a live front end, and one redraw.

Usage: python browser/kernel_memory.py [book/halo.md ...]   (default: every
chapter with a widget). Each chapter is read with jupytext and executed top to
bottom by nbclient with CRLIB_WIDGETS=live, so the widget takes its live path
(controls, first drawing at the defaults) as on Binder; a last cell moves the
widget's first control once (the redraw a reader's first move triggers) and
reports the kernel's peak resident memory (VmHWM) and the redraw time. Binder
gives a kernel 2 GB. Not part of CI (it executes the chapters at full scale).
"""

import json
import os
import pathlib
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROBE = r'''
import json as _json
import crlib.widgets as _cw
_c = _cw.LAST["controls"]
_w = next(iter(_c.values()))
if hasattr(_w, "options"):
    _vals = list(getattr(_w, "_options_values"))
    _w.value = _vals[(_vals.index(_w.value) + 1) % len(_vals)]
elif hasattr(_w, "base"):
    _w.value = _w.base ** (_w.min + 0.75 * (_w.max - _w.min))
else:
    _w.value = type(_w.value)(_w.min + 0.75 * (_w.max - _w.min))
_hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print("PROBE", _json.dumps({"peak_MB": int(_hwm) / 1024, "redraw_s": _cw.LAST["seconds"],
                          "redraw_cpu_s": _cw.LAST["cpu_seconds"]}))
'''


def measure(md):
    nb = jupytext.read(md)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    os.environ["CRLIB_WIDGETS"] = "live"
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "book")}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    res = json.loads(out.split("PROBE", 1)[1])
    res["chapter"] = str(pathlib.Path(md).relative_to(ROOT))
    res["run_s"] = round(time.perf_counter() - t0, 1)
    return res


def main(paths):
    if not paths:
        paths = [str(p) for p in sorted((ROOT / "book").glob("*.md")) if "live_figure(" in p.read_text()]
    for p in paths:
        r = measure(str(pathlib.Path(p).resolve()))
        print(f"{r['chapter']:28s} peak {r['peak_MB']:7.0f} MB   redraw {r['redraw_s']:.2f} s wall, "
              f"{r['redraw_cpu_s']:.2f} s CPU   load/core {os.getloadavg()[0] / os.cpu_count():.1f}   "
              f"chapter ran in {r['run_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
