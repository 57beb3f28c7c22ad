"""Rules of the code's shape (issue 19): no function longer than 80 lines, and at most
12 modules directly in ``ccpandas/`` (the rest lives in its layer's folder).

A function's length is counted from its ``def`` line to its last line, without its
docstring (a public function's ``Args:`` section may be long; its code may not).
Comments and blank lines inside count.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ccpandas"
MAX_FUNCTION_LINES = 80
MAX_TOP_LEVEL_MODULES = 12


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return (first.end_lineno or first.lineno) - first.lineno + 1
    return 0


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """``(name, line, length)`` of every function and method in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1 - _docstring_lines(node)
            found.append((node.name, node.lineno, length))
    return found


def test_the_length_rule_measures_code_without_the_docstring() -> None:
    doc = '    """' + "\n".join(["line"] * 100) + '"""\n'
    short = "def f():\n" + doc + "    return 1\n"
    long = "def g():\n" + "    x = 1\n" * 81
    assert function_lengths(short) == [("f", 1, 2)]
    assert function_lengths(long) == [("g", 1, 82)]


def test_no_function_is_longer_than_80_lines() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name, line, length in function_lengths(path.read_text(encoding="utf-8")):
            if length > MAX_FUNCTION_LINES:
                too_long.append(f"ccpandas/{rel}:{line} {name}: {length} lines")
    assert not too_long, "split these functions:\n" + "\n".join(too_long)


def test_at_most_12_modules_directly_in_the_package() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(modules)} modules directly in ccpandas/ (at most {MAX_TOP_LEVEL_MODULES}): "
        + ", ".join(modules)
    )


def _overrides(cls: type) -> list[str]:
    """The methods (and properties) ``cls`` defines again over its direct parent."""
    parent = cls.__mro__[1]
    return sorted(
        name
        for name, value in vars(cls).items()
        if name not in ("__init_subclass__", "__class_getitem__", "__new__")
        and (callable(value) or isinstance(value, property | classmethod | staticmethod))
        and hasattr(parent, name)
        and getattr(parent, name) is not getattr(object, name, None)
        # Implementing what an abstract base asks for is its seam, not an override.
        and not getattr(getattr(parent, name), "__isabstractmethod__", False)
    )


def test_no_subclass_overrides_more_than_4_methods_of_its_parent() -> None:
    import importlib
    import inspect
    import pkgutil

    import ccpandas

    heavy = []
    for info in pkgutil.walk_packages(ccpandas.__path__, "ccpandas."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            parent = cls.__mro__[1]
            if cls.__module__ != info.name or not parent.__module__.startswith("ccpandas"):
                continue
            names = _overrides(cls)
            if len(names) > 4:
                heavy.append(f"{info.name}.{cls.__name__} over {parent.__name__}: {names}")
    assert not heavy, "a seam is missing:\n" + "\n".join(heavy)


def test_the_override_count_sees_an_override() -> None:
    class Base:
        def a(self) -> int:
            return 1

        @property
        def b(self) -> int:
            return 2

    class Child(Base):
        def a(self) -> int:
            return 3

        @property
        def b(self) -> int:
            return 4

        def c(self) -> int:
            return 5

    assert _overrides(Child) == ["a", "b"]


def test_each_outcome_word_is_spelled_in_at_most_2_modules() -> None:
    # One vocabulary (ccpandas/vocab.py): a row status or pair outcome written out as a
    # string anywhere else is a second home for a word that must mean one thing.
    from ccpandas.vocab import PairOutcome, RowStatus

    words = {str(w) for w in (*RowStatus, *PairOutcome)}
    spelled: dict[str, set[str]] = {w: set() for w in words}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("emulator/"):  # the oracle speaks the API's words on its own
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in words:
                spelled[node.value].add(rel)
    loose = {w: sorted(m) for w, m in spelled.items() if len(m) > 2}
    assert not loose, f"outcome words spelled in more than 2 modules: {loose}"
    assert spelled["removed"] == {"vocab.py"}  # the count does see a word's home


def test_no_import_cycle_type_checking_imports_included() -> None:
    import grimp

    graph = grimp.build_graph("ccpandas", exclude_type_checking_imports=False)
    cycles = sorted(
        {
            tuple(sorted((a, b)))
            for a in graph.modules
            for b in graph.find_modules_directly_imported_by(a)
            if graph.find_shortest_chain(importer=b, imported=a)
        }
    )
    assert not cycles, f"modules that import each other (through any chain): {cycles}"
