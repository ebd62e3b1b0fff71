"""Amazon's models and the real report files, found beside the repository on any machine.

They are not part of the repository: they lie in ``shared/`` next to it
(``<repository>/../shared/spapi-models`` and ``<repository>/../shared/real-reports``), the
repository being the folder that holds ``pyproject.toml`` above this file. A test that needs
one of them skips when it is absent, except under ``CI=true``: there it fails, so CI never
passes without having checked against Amazon's models and real reports.

``require(path)`` inside a test or fixture; ``needs(path)`` as a mark (a test, a class, or a
module's ``pytestmark``), which ``tests/conftest.py`` turns into the same ``require`` call.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = next(
    folder for folder in Path(__file__).resolve().parents if (folder / "pyproject.toml").is_file()
)
SHARED = REPOSITORY.parent / "shared"
MODELS = SHARED / "spapi-models"  # Amazon's OpenAPI models (Swagger 2.0), see its SOURCE.md
REAL_REPORTS = SHARED / "real-reports"  # report files sellers downloaded, see its MANIFEST.md
MARK = "shared"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(path: Path) -> Path:
    """``path`` (a folder or file under ``shared/``) if it is there; else skip the test, or
    fail it under ``CI=true``."""
    if path.exists():
        return path
    reason = f"{path} is absent (Amazon's models and real reports lie beside the repository)"
    if in_ci():
        pytest.fail(f"{reason}; CI must run this test", pytrace=False)
    pytest.skip(reason)


def needs(path: Path) -> pytest.MarkDecorator:
    """A mark: the test needs ``path``; checked by ``require`` when the test is set up."""
    return pytest.mark.shared(path)  # MARK
