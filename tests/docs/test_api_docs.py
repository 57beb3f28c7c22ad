"""The API reference describes every parameter of every callable it renders.

docs/api.md renders objects with sphinx autodoc and napoleon (Google style) and
``autodoc_typehints = "description"``: a parameter without an ``Args:`` entry shows up as
a bare ``name (type)``. This test reads the directives of docs/api.md and finds the
objects as the build renders them: ``autodoc_default_options`` gives every class its
public methods (those with a docstring, not inherited ones) and every module its public
members (``__all__`` where it has one), whether or not a directive lists them. Then it
checks that napoleon finds a non-empty description for every parameter of each
signature, and no description of a parameter that the signature does not have.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from sphinx.ext.napoleon import Config
from sphinx.ext.napoleon.docstring import GoogleDocstring

ROOT = Path(__file__).resolve().parents[2]
API_MD = ROOT / "docs" / "api.md"

DIRECTIVE = re.compile(r"^\.\. (autofunction|automethod|autoclass|automodule):: (\S+)\s*$")
PARAM = re.compile(r"^:param (?:[^:\s]+ )?(\\?\*{0,2}\w+):(.*)$")
# napoleon's own Config (its documented stand-alone use); typed as sphinx's.
NAPOLEON: Any = Config(napoleon_use_param=True, napoleon_google_docstring=True)


def directives(text: str) -> list[tuple[str, str, set[str]]]:
    """The (kind, dotted name, flag options) of every autodoc directive in a page."""
    found: list[tuple[str, str, set[str]]] = []
    for line in text.splitlines():
        m = DIRECTIVE.match(line.strip())
        if m:
            found.append((m.group(1), m.group(2), set()))
        elif found and (opt := re.match(r"^\s+:([\w-]+):", line)):
            found[-1][2].add(opt.group(1))
    return found


def resolve(dotted: str) -> Any:
    """Import ``dotted`` as autodoc does: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def has_doc(obj: Any) -> bool:
    return bool(inspect.getdoc(obj))


def class_members(prefix: str, cls: type, undoc: bool) -> Iterator[tuple[str, Any]]:
    """The methods autodoc renders for a class: public, defined on the class itself
    (no inherited members), with a docstring unless ``:undoc-members:``."""
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if not isinstance(raw, types.FunctionType):
            continue  # properties, attributes, enum members: no parameters
        if undoc or has_doc(getattr(cls, name)):
            yield f"{prefix}.{name}", getattr(cls, name)


def module_members(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        ]
    for name in names:
        obj = getattr(module, name)
        # Functions, classes, and pytest fixtures (callable wrappers of a function).
        if callable(obj) and has_doc(obj):
            yield f"{module.__name__}.{name}", obj


def rendered() -> dict[str, Any]:
    """Every callable docs/api.md renders, by the name the reference shows."""
    objects: dict[str, Any] = {}

    def add_class(name: str, cls: type, undoc: bool) -> None:
        objects[name] = cls
        objects.update(class_members(name, cls, undoc))

    for kind, dotted, flags in directives(API_MD.read_text()):
        obj = resolve(dotted)
        if kind in ("autofunction", "automethod"):
            objects[dotted] = obj
        elif kind == "autoclass":
            add_class(dotted, obj, "undoc-members" in flags)
        else:
            for name, member in module_members(obj):
                if inspect.isclass(member):
                    add_class(name, member, "undoc-members" in flags)
                else:
                    objects[name] = member
    return objects


def signature(obj: Any) -> inspect.Signature | None:
    """The signature autodoc shows; None where it shows none worth describing."""
    if inspect.isclass(obj):
        if getattr(obj, "_is_protocol", False):
            return None  # a Protocol's signature is (*args, **kwargs): never called
        if issubclass(obj, enum.Enum):
            return inspect.Signature(
                [inspect.Parameter("value", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            )
        if not any(inspect.isfunction(getattr(obj, m, None)) for m in ("__init__", "__new__")):
            return None  # a builtin constructor (an exception's message): autodoc shows none
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def parameter_names(sig: inspect.Signature) -> list[str]:
    return [p for p in sig.parameters if p not in ("self", "cls")]


def described(obj: Any) -> dict[str, str]:
    """The parameters napoleon finds in the docstring's Args section, with their text."""
    doc = inspect.getdoc(obj) or ""
    what: Literal["class", "function"] = "class" if inspect.isclass(obj) else "function"
    lines = str(GoogleDocstring(doc, config=NAPOLEON, what=what)).splitlines()
    found: dict[str, str] = {}
    current = None
    for line in lines:
        m = PARAM.match(line)
        if m:
            current = m.group(1).replace("\\", "").lstrip("*")
            found[current] = m.group(2).strip()
        elif current and line.startswith("   ") and line.strip():
            found[current] = (found[current] + " " + line.strip()).strip()
        else:
            current = None
    return found


def problems(objects: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, obj in objects.items():
        sig = signature(obj)
        if sig is None:
            continue
        params = parameter_names(sig)
        docs = described(obj)
        out += [f"{name}: no description of {p!r}" for p in params if not docs.get(p)]
        out += [f"{name}: describes {p!r}, not a parameter" for p in docs if p not in params]
    return out


def test_the_reference_renders_what_the_test_reads():
    objects = rendered()
    # The check must see the objects the reference shows, not an empty list.
    for name in (
        "ccpandas.remove_from_lists",
        "ccpandas.accessor.CCAccessor.keep_in_lists",
        "ccpandas.plan.undo.plan_undo",
        "ccpandas.errors.QuotaExceededError",
        "ccpandas.emulator.Account.add_contact",
        "ccpandas.run.progress.Snapshot",
    ):
        assert name in objects, name
    assert len(objects) > 200


def test_every_rendered_parameter_is_described():
    found = problems(rendered())
    assert not found, f"{len(found)} gaps in the parameter descriptions:\n" + "\n".join(found)


def test_the_check_catches_a_missing_description():
    def sample(progress: bool = True, timeout: float = 1.0) -> None:
        """Do nothing.

        Args:
            progress: Show a progress bar.
        """

    assert problems({"sample": sample}) == ["sample: no description of 'timeout'"]


@pytest.mark.parametrize(
    "doc",
    [
        "Args:\n    progress:\n",
        "Args:\n    progres: Show a progress bar.\n",
        "No Args section.\n",
    ],
)
def test_the_check_refuses_empty_or_misspelt_entries(doc):
    def sample(progress: bool = True) -> None:
        pass

    sample.__doc__ = "Do nothing.\n\n" + doc
    assert problems({"sample": sample})
