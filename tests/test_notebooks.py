"""Every notebook in ``notebooks/`` runs without error, and is committed without outputs.

Each notebook is executed with nbclient in a temporary copy, by a driver in a *separate Python
process*: the suite's ``filterwarnings = error`` then applies neither to the Jupyter machinery
(jupyter_client, zmq) nor inside the kernel, and a notebook that hangs is killed, kernel and all, after
``NOTEBOOK_TIMEOUT`` seconds. The kernel imports kocgraph from this checkout (``PYTHONPATH``), not
from whatever copy happens to be installed, and the driver checks that it did.

To run one notebook by hand: ``python -m pytest tests/test_notebooks.py -k quickstart``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: the whole notebook, kernel start included; each one takes well under a minute on a 2-core box
NOTEBOOK_TIMEOUT = 180
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in IPython tracebacks
#: the notebooks issue 6 asks for
REQUIRED = ["01_quickstart.ipynb", "02_see.ipynb", "03_insight.ipynb", "04_grow.ipynb", "05_scale.ipynb"]

# Runs in its own process: execute a notebook, write the executed copy, then ask the same kernel where
# it imported kocgraph from. Exit 1 with the failing cell's traceback on stderr if a cell raises.
_DRIVER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

src, workdir, out, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(src, as_version=4)
probe = nbformat.v4.new_code_cell("import kocgraph as _kg; print(_kg.__file__)")
probe["id"] = "test-probe-kocgraph-origin"
nb.cells.append(probe)
client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                        resources={"metadata": {"path": workdir}})
try:
    client.execute()
except CellExecutionError as err:
    sys.stderr.write(str(err))
    sys.exit(1)
finally:
    nbformat.write(nb, out)
origin = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
print(json.dumps({"kocgraph": origin}))
"""


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the driver and the kernel it started (they share the session the driver was started in)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        proc.kill()


def _execute(nb_path: Path, tmp_path: Path) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    src = work / nb_path.name
    shutil.copy(nb_path, src)
    out = tmp_path / f"executed-{nb_path.name}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["KOCGRAPH_CACHE"] = str(tmp_path / "cache")   # sample logs generated afresh, not in ~/.cache
    env["JUPYTER_PLATFORM_DIRS"] = "1"                # quiets jupyter_core's path-migration warning
    env.pop("MPLBACKEND", None)                       # notebooks choose the (headless) inline backend
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(src), str(work), str(out), str(NOTEBOOK_TIMEOUT)],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=NOTEBOOK_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        pytest.fail(f"{nb_path.name} did not finish within {NOTEBOOK_TIMEOUT} s")
    finally:
        if proc.poll() is None:  # pragma: no cover - interrupted
            _kill_group(proc)
    if proc.returncode != 0:
        pytest.fail(f"{nb_path.name} failed (exit {proc.returncode}):\n{_ANSI.sub('', stderr)[-6000:]}",
                    pytrace=False)
    info = json.loads(stdout.strip().splitlines()[-1])
    return nbformat.read(out, as_version=4), info


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(nb_path: Path, tmp_path: Path) -> None:
    nb, info = _execute(nb_path, tmp_path)
    # the kernel used this checkout, not a stale install
    assert Path(info["kocgraph"]).resolve().is_relative_to(ROOT), info
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    # every notebook draws at least one figure, and the figures reach the notebook
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type in ("display_data", "execute_result") and "image/png" in o.get("data", {})]
    assert images, f"{nb_path.name} produced no figure"


def test_required_notebooks_present_and_described() -> None:
    names = {p.name for p in NOTEBOOKS}
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, f"missing notebooks: {missing}"
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    undescribed = [n for n in sorted(names) if n not in readme]
    assert not undescribed, f"notebooks/README.md does not describe {undescribed}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (
        f"{nb_path.name}: cells {dirty} carry outputs or execution counts; clear them before committing "
        "(e.g. `jupyter nbconvert --clear-output --inplace` or Edit > Clear All Outputs)."
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", nb.metadata.get("kernelspec")
    assert "widgets" not in nb.metadata, "notebook metadata holds widget state; clear it"
