"""pytest fixtures for ccpandas users (registered through the ``pytest11`` entry point).

Filled in by the emulator work: an ``cc_emulator`` fixture.
"""
