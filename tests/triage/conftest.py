"""Shared fixtures for the triage tests."""

from __future__ import annotations

import pytest

from hotline.triage import TextRiskScanner


@pytest.fixture(scope="session")
def scanner() -> TextRiskScanner:
    """The shipped rules, loaded once."""
    return TextRiskScanner.default()
