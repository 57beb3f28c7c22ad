"""pytest fixtures for ccpandas users, registered through the ``pytest11`` entry point.

With ccpandas installed, any test can ask for a running emulator::

    def test_my_cleanup(cc_emulator):
        lists = cc_emulator.account.list_ids()
        ...  # call your code with cc_emulator.base_url and cc_emulator.token

    @pytest.mark.cc_emulator(rate=None, error_rate=0.1, seed=7)
    def test_my_cleanup_survives_errors(cc_emulator): ...

``cc_emulator`` is a started :class:`ccpandas.emulator.Emulator` (seed 0, fast
activities, the real service's rate limits) that stops after the test. The
``cc_emulator`` marker passes any ``Emulator`` keyword (the closest marker wins).
``cc_emulator_factory(**kwargs)`` starts as many more as a test needs.

The emulator is imported only when a fixture is used, so the plugin costs nothing
for test runs that do not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ccpandas.emulator import Emulator

__all__ = ["FIXTURE_DEFAULTS", "cc_emulator", "cc_emulator_factory"]

#: What the fixtures pass to ``Emulator`` unless told otherwise: activities finish almost
#: at once (tests stay fast); the rate limit and quota stay as the real service's.
FIXTURE_DEFAULTS: dict[str, Any] = {"seed": 0, "speed": 1_000_000.0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cc_emulator(**kwargs): Emulator keyword arguments for the cc_emulator fixture "
        "(e.g. rate=None, error_rate=0.1, contacts=1000)",
    )


@pytest.fixture
def cc_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators on demand; all of them stop after the test.

    Example::

        def test_two_accounts(cc_emulator_factory):
            a = cc_emulator_factory(seed=1)
            b = cc_emulator_factory(seed=2, rate=None)
    """
    from ccpandas.emulator import Emulator  # lazily: only tests that use it pay for it

    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emulator = Emulator(**{**FIXTURE_DEFAULTS, **kwargs}).start()
        started.append(emulator)
        return emulator

    try:
        yield make
    finally:
        for emulator in reversed(started):
            emulator.stop()


@pytest.fixture
def cc_emulator(
    request: pytest.FixtureRequest, cc_emulator_factory: Callable[..., Emulator]
) -> Emulator:
    """A running emulator for one test, configured by ``@pytest.mark.cc_emulator(...)``.

    Tests ask for it by name; pytest passes the arguments.

    Args:
        request: pytest's request for the test: its ``cc_emulator`` markers (the closest
            wins) give the :class:`~ccpandas.emulator.Emulator` keyword arguments, on top of
            :data:`FIXTURE_DEFAULTS`.
        cc_emulator_factory: The :func:`cc_emulator_factory` fixture, which starts it and
            stops it after the test.

    Example::

        def test_lists(cc_emulator):
            assert len(cc_emulator.account.list_ids()) == 6
    """
    kwargs: dict[str, Any] = {}
    # iter_markers yields the closest marker first; apply the farthest first so the
    # closest one, applied last, wins.
    for marker in reversed(list(request.node.iter_markers("cc_emulator"))):
        kwargs.update(marker.kwargs)
    return cc_emulator_factory(**kwargs)
