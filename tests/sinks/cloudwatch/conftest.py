"""Fixtures: one real moto server per session, wiped before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.moto_server import MotoServer


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_session: MotoServer) -> MotoServer:
    """The session's moto server with no resources left by earlier tests."""
    moto_session.reset()
    return moto_session
