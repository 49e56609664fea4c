"""Shared fixtures: the bundled speech's content model and the test speeches in other numbering styles."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SPEECHES = ("speech-dun.txt", "speech-part.txt", "speech-plain.txt")


@pytest.fixture(scope="session")
def model():
    """The content model of the bundled speech."""
    from content import load_model

    return load_model()


@pytest.fixture(scope="session", params=("bundled", *SPEECHES))
def any_model(request):
    """The bundled speech and each test speech in turn."""
    from content import build_model, bundled_text

    text = bundled_text() if request.param == "bundled" else (DATA / request.param).read_text("utf-8")
    return build_model(text)
