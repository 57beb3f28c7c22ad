"""The reference pages describe every parameter of every callable they render.

Every page of docs/ that renders objects with sphinx autodoc (``.. autoclass::`` and the
like in an ``{eval-rst}`` block: the API reference, Authentication, Jupyter) uses napoleon
(Google style) and ``autodoc_typehints = "description"``: a parameter without an
``Args:`` entry shows up as a bare ``name (type)``. This test reads the directives of
every page and finds the objects as the build renders them. docs/conf.py sets no default
``members``, so a directive renders what its ``:members:`` option says: no members
without it; given alone, the public members with a docstring (defined on the class
itself, not inherited; for a module, its ``__all__``); given a list, exactly those names.
A class that a module directive renders shows its own documented members. Then it checks
that napoleon finds a non-empty description for every parameter of each signature, and
no description of a parameter that the signature does not have.

Against the built HTML (``CCPANDAS_DOCS_HTML``, or a build of its own; see
tests/conftest.py), it checks that this view of what renders is the build's, page by page.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from sphinx.ext.napoleon import Config
from sphinx.ext.napoleon.docstring import GoogleDocstring

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

DIRECTIVE = re.compile(
    r"^\.\. (autofunction|automethod|autoclass|autoexception|automodule):: (\S+)\s*$"
)
OPTION = re.compile(r"^\s+:([\w-]+):\s*(.*?)\s*$")
#: The directive options this view of the build understands. Any other option (say
#: ``:inherited-members:`` or ``:exclude-members:``) could change what renders: the test
#: refuses it until it is modelled here.
KNOWN_OPTIONS = {
    "members",
    "undoc-members",
    "show-inheritance",
    "no-show-inheritance",
    "member-order",
}
# napoleon writes ``**kwargs`` as ``\*\*kwargs``; an entry may name it with or without stars.
PARAM = re.compile(r"^:param (?:[^:\s]+ )?((?:\\?\*){0,2}\w+):(.*)$")
# napoleon's own Config (its documented stand-alone use); typed as sphinx's.
NAPOLEON: Any = Config(napoleon_use_param=True, napoleon_google_docstring=True)
#: What Sphinx marks up as a callable in the HTML (``<dl class="py function">`` ...).
CALLABLE_KINDS = {"function", "method", "class", "exception"}


@dataclass
class Directive:
    """One autodoc directive of a page: its kind, the dotted name, its options."""

    kind: str
    name: str
    options: dict[str, str] = field(default_factory=dict)

    def members(self) -> list[str] | Literal["all", "none"]:
        """``"none"`` without ``:members:``, ``"all"`` for ``:members:`` alone, else the
        listed names."""
        if "members" not in self.options:
            return "none"
        names = [n.strip() for n in self.options["members"].split(",") if n.strip()]
        return names or "all"

    @property
    def undoc(self) -> bool:
        return "undoc-members" in self.options


def directives(text: str) -> list[Directive]:
    """The autodoc directives of a page, with their options (the indented ``:name:``
    lines right below a directive; a value may go on over more indented lines)."""
    found: list[Directive] = []
    current: Directive | None = None
    option = ""
    for line in text.splitlines():
        m = DIRECTIVE.match(line.strip())
        opt = OPTION.match(line)
        if m:
            current = Directive(m.group(1), m.group(2))
            found.append(current)
            option = ""
        elif current is not None and opt:
            option = opt.group(1)
            current.options[option] = opt.group(2)
        elif current is not None and option and line[:1].isspace() and line.strip():
            current.options[option] += " " + line.strip()
        else:
            current = None
    return found


def reference_pages() -> list[Path]:
    """Every page of docs/ with an autodoc directive."""
    return [p for p in sorted(DOCS.glob("*.md")) if directives(p.read_text())]


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


def method(cls: type, name: str) -> Any | None:
    """The function autodoc renders as method ``name`` of ``cls`` (looked up along the
    MRO), or None for a property, an attribute or an enum member: those take no
    parameters."""
    try:
        raw = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(raw, (staticmethod, classmethod)):
        raw = raw.__func__
    if not isinstance(raw, types.FunctionType):
        return None
    return getattr(cls, name)


def class_members(
    prefix: str, cls: type, members: list[str] | Literal["all", "none"], undoc: bool
) -> Iterator[tuple[str, Any]]:
    """The methods autodoc renders for a class: the listed ones (inherited ones too), or
    for ``"all"`` the public ones defined on the class itself; with a docstring unless
    ``:undoc-members:``."""
    if members == "none":
        return
    names = [n for n in vars(cls) if not n.startswith("_")] if members == "all" else members
    for name in names:
        func = method(cls, name)
        if func is not None and (undoc or has_doc(func)):
            yield f"{prefix}.{name}", func


def module_members(
    prefix: str, module: types.ModuleType, members: list[str] | Literal["all", "none"]
) -> Iterator[tuple[str, Any]]:
    """The functions and classes autodoc renders for a module: the listed ones, or for
    ``"all"`` its ``__all__`` (without one, the public names it defines)."""
    if members == "none":
        return
    names = members if members != "all" else getattr(module, "__all__", None)
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
            yield f"{prefix}.{name}", obj


def rendered(page: Path) -> dict[str, Any]:
    """Every callable a page renders, by the name (the HTML id) the page shows."""
    objects: dict[str, Any] = {}

    def add_class(name: str, cls: type, members: Any, undoc: bool) -> None:
        objects[name] = cls
        objects.update(class_members(name, cls, members, undoc))

    for d in directives(page.read_text()):
        unknown = set(d.options) - KNOWN_OPTIONS
        assert not unknown, f"{page.name}: {d.name}: options not modelled: {unknown}"
        obj = resolve(d.name)
        if d.kind in ("autofunction", "automethod"):
            objects[d.name] = obj
        elif d.kind in ("autoclass", "autoexception"):
            add_class(d.name, obj, d.members(), d.undoc)
        else:
            for name, member in module_members(d.name, obj, d.members()):
                if inspect.isclass(member):
                    # A module's class shows all its documented members.
                    add_class(name, member, "all", d.undoc)
                else:
                    objects[name] = member
    return objects


def all_rendered() -> dict[str, Any]:
    objects: dict[str, Any] = {}
    for page in reference_pages():
        objects.update(rendered(page))
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


HTML_ENTRY = re.compile(r'<dl class="py (\w+)">\s*<dt class="sig sig-object py" id="([^"]+)"')


def html_callables(path: Path) -> set[str]:
    """The ids of the functions, methods, classes and exceptions a built page shows."""
    return {
        name
        for kind, name in HTML_ENTRY.findall(path.read_text(encoding="utf-8"))
        if kind in CALLABLE_KINDS
    }


def test_every_reference_page_is_read():
    """The pages follow docs/: a page that gains an autodoc directive is checked too."""
    names = {p.name for p in reference_pages()}
    assert {"api.md", "authentication.md", "jupyter.md"} <= names


def test_the_reference_renders_what_the_test_reads():
    objects = {p.name: rendered(p) for p in reference_pages()}
    # The check must see the objects the pages show, not an empty list.
    expected = {
        "api.md": (
            "ccpandas.remove_from_lists",
            "ccpandas.accessor.CCAccessor.keep_in_lists",
            "ccpandas.plan.undo.plan_undo",
            "ccpandas.errors.QuotaExceededError",
            "ccpandas.emulator.Account.add_contact",
            "ccpandas.report.progress.Snapshot",
        ),
        "authentication.md": (
            "ccpandas.auth.login",
            "ccpandas.auth.OAuthToken.refresh",
            "ccpandas.auth.tokenstore.TokenStore.save",
            "ccpandas.widgets.login.LoginWidget",
        ),
        "jupyter.md": (
            "ccpandas.widgets.RemovalPanel",
            "ccpandas.widgets.RemovalPanel.wait",
            "ccpandas.widgets.ListPicker.set_disabled",
            "ccpandas.widgets.StatusDisplay.update",
        ),
    }
    for page, names in expected.items():
        for name in names:
            assert name in objects[page], f"{page}: {name}"
    assert len(objects["api.md"]) > 200
    # A listed member is rendered, an unlisted one is not.
    assert "ccpandas.auth.tokenstore.MemoryTokenStore.load" not in objects["authentication.md"]


def test_every_rendered_parameter_is_described():
    found = problems(all_rendered())
    assert not found, f"{len(found)} gaps in the parameter descriptions:\n" + "\n".join(found)


@pytest.mark.parametrize("page", [p.name for p in reference_pages()])
def test_the_build_renders_what_the_test_reads(page: str, docs_html: Path):
    """The built page shows exactly the callables this test checks: no more (an object
    whose parameters go unchecked), no fewer (a directive that does not render)."""
    built = html_callables(docs_html / page.replace(".md", ".html"))
    read = set(rendered(DOCS / page))
    assert built == read, (
        f"built but not read: {sorted(built - read)}; read but not built: {sorted(read - built)}"
    )


PARAMETERS = re.compile(
    r'<dt class="field-\w+">Parameters<span class="colon">:</span></dt>\s*'
    r'<dd class="field-\w+">(.*?)</dd>',
    re.S,
)
PARAMETER = re.compile(r"<p><strong>([^<]+)</strong>(.*?)</p>", re.S)


def bare_parameters(path: Path) -> list[str]:
    """The parameters a built page lists with no description: Sphinx writes a described
    one as ``name (type) – text``, a bare one as ``name (type)``."""
    return [
        name
        for field in PARAMETERS.findall(path.read_text(encoding="utf-8"))
        for name, rest in PARAMETER.findall(field)
        if "\N{EN DASH}" not in rest
    ]


@pytest.mark.parametrize("page", [p.name for p in reference_pages()])
def test_the_built_page_describes_every_parameter(page: str, docs_html: Path):
    """The same promise read from the HTML a reader gets."""
    path = docs_html / page.replace(".md", ".html")
    assert "Parameters" in path.read_text(encoding="utf-8")
    assert bare_parameters(path) == []


def test_the_html_check_sees_a_bare_parameter(tmp_path: Path):
    page = tmp_path / "page.html"
    page.write_text(
        '<dt class="field-odd">Parameters<span class="colon">:</span></dt>\n'
        '<dd class="field-odd"><ul class="simple">\n'
        "<li><p><strong>client</strong> (<em>Client</em>) \N{EN DASH} The client.</p></li>\n"
        "<li><p><strong>progress</strong> (<em>Any</em>)</p></li>\n"
        "</ul>\n</dd>",
        encoding="utf-8",
    )
    assert bare_parameters(page) == ["progress"]


def test_the_check_catches_a_missing_description():
    def sample(progress: bool = True, timeout: float = 1.0) -> None:
        """Do nothing.

        Args:
            progress: Show a progress bar.
        """

    assert problems({"sample": sample}) == ["sample: no description of 'timeout'"]


def test_the_check_reads_starred_entries():
    def sample(*args: int, **kwargs: int) -> None:
        """Do nothing.

        Args:
            *args: Numbers.
            kwargs: Names.
        """

    assert problems({"sample": sample}) == []
    sample.__doc__ = "Do nothing.\n\nArgs:\n    *args: Numbers.\n    **kwargs: Names.\n"
    assert problems({"sample": sample}) == []


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


def test_directive_options_are_read_as_the_build_reads_them():
    text = """```{eval-rst}
.. autoclass:: pkg.A
   :members: one, two
   :no-show-inheritance:
.. autoclass:: pkg.B
   :members:
.. autoclass:: pkg.D
   :members: one,
      two
.. autoclass:: pkg.C

   :members: content, not an option
```"""
    found = {d.name: d.members() for d in directives(text)}
    assert found == {
        "pkg.A": ["one", "two"],
        "pkg.B": "all",
        "pkg.D": ["one", "two"],
        "pkg.C": "none",
    }
