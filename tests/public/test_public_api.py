"""The public surface: names, laziness, and docs that cover every public name."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import ccpandas

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves():
    for name in ccpandas.__all__:
        assert getattr(ccpandas, name) is not None, name


def test_import_is_cheap_and_needs_no_jupyter():
    code = (
        "import sys, ccpandas, pandas as pd\n"
        "heavy = ['ipywidgets', 'IPython', 'requests', 'tqdm', 'ccpandas.emulator',"
        " 'ccpandas.widgets']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print(hasattr(pd.DataFrame(), 'cc'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]", f"imported eagerly: {out[0]}"
    assert out[1] == "True"


def test_every_public_callable_is_in_the_api_reference():
    api = (ROOT / "docs" / "api.md").read_text()
    skip = {"__version__", "load_ipython_extension", "unload_ipython_extension"}
    missing = [n for n in ccpandas.__all__ if n not in skip and n not in api]
    # Exceptions are documented through the errors module's automodule.
    missing = [n for n in missing if not n.endswith("Error")]
    assert not missing, f"not in docs/api.md: {missing}"


def test_every_public_name_has_a_docstring():
    for name in ccpandas.__all__:
        obj = getattr(ccpandas, name)
        if name == "__version__":
            continue
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_plan_removal_never_mutates_the_frame():
    import pandas as pd

    df = pd.DataFrame({"contact_id": ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f", "x"]})
    before = df.copy()
    df.cc.plan(["7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"], snapshot=False)
    pd.testing.assert_frame_equal(df, before)


def test_every_shared_parameter_placeholder_is_filled() -> None:
    """A docstring line ``name: {shared}`` left unfilled (its function not decorated
    with ``shared_params``) would show the placeholder in the API reference."""
    import importlib
    import inspect
    import pkgutil

    from ccpandas import _docs

    unfilled = []
    for info in pkgutil.walk_packages(ccpandas.__path__, "ccpandas."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            members = [obj, *vars(obj).values()] if inspect.isclass(obj) else [obj]
            for member in members:
                member = getattr(member, "fget", member)  # a property's docstring
                doc = getattr(member, "__doc__", None)
                if member is _docs.shared_params or not isinstance(doc, str):
                    continue
                if _docs._LINE.search(doc):
                    unfilled.append(f"{info.name}.{name}")
    assert unfilled == []
    # and the filled text is the shared one
    assert _docs.PARAMETERS["wait"][:40] in " ".join(ccpandas.remove_from_lists.__doc__.split())


#: What a bare ``import ccpandas`` must not load on top of pandas: each loads when its
#: feature is first used (kept in step with ``benchmarks/bench_import.py``'s list).
LAZY_MODULES = (
    *("requests", "urllib3", "tqdm", "ipywidgets", "IPython", "traitlets", "comm"),
    *("matplotlib", "openpyxl", "jwt", "cryptography", "redis", "jsonschema"),
    *("sqlite3", "email", "importlib.metadata", "difflib", "http.server"),
    *("ccpandas.api", "ccpandas.readers", "ccpandas.plan", "ccpandas.run", "ccpandas.read"),
    *("ccpandas.store", "ccpandas.report", "ccpandas.client", "ccpandas.auth"),
    *("ccpandas.widgets", "ccpandas.cli", "ccpandas.emulator"),
)


def _modules_added_by(code: str) -> list[str]:
    """The modules ``code`` loads in a fresh interpreter beyond ``import pandas``."""
    probe = f"import pandas, sys\nbase = set(sys.modules)\n{code}\n"
    probe += "print(sorted(set(sys.modules) - base))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return ast.literal_eval(run.stdout.strip().splitlines()[-1])


def _loaded(modules: list[str], names: Iterable[str]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_a_bare_import_loads_no_feature_module() -> None:
    added = _modules_added_by("import ccpandas")
    assert _loaded(added, LAZY_MODULES) == []


def test_the_lazy_modules_load_when_their_feature_is_used() -> None:
    code = (
        "import ccpandas\n"
        "from importlib import metadata\n"
        "df = pandas.DataFrame({'contact_id': ['2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f']})\n"
        "plan = df.cc.plan(['7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d'], snapshot=False)\n"
        "assert isinstance(plan, ccpandas.RemovalPlan) and plan.n_requests == 1\n"
        "assert ccpandas.api.remove_from_lists is ccpandas.remove_from_lists\n"
        "assert ccpandas.__version__ == metadata.version('ccpandas')\n"
        "assert callable(ccpandas.Client) and 'requests' in sys.modules\n"
    )
    added = _modules_added_by(code)
    wanted = ("ccpandas.api", "ccpandas.plan", "importlib.metadata", "ccpandas.client.http")
    assert _loaded(added, wanted) == list(wanted)
