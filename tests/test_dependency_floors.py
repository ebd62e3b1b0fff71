"""The dependency floors the README names are the ones pyproject.toml declares, and the
environment the tests run in satisfies them (issue 25, item 13)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
SECTION = "### Pinning dependencies with hashes"


def declared_floors() -> dict[str, Version]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    floors: dict[str, Version] = {}
    for text in [*project["dependencies"], *extras["web"], *extras["postgres"]]:
        requirement = Requirement(text)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                floors[requirement.name.lower()] = Version(spec.version)
    return floors


def readme_floors() -> dict[str, Version]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n\n", 2)[1]
    return {
        name.lower(): Version(version)
        for name, version in re.findall(r"`([A-Za-z0-9_.\-]+)>=([0-9][0-9.]*)`", section)
    }


def test_the_readme_names_the_floors_pyproject_declares() -> None:
    readme = readme_floors()
    declared = declared_floors()
    assert readme
    assert {name: declared.get(name) for name in readme} == readme
    for name in ("requests", "urllib3", "cryptography", "certifi", "flask", "werkzeug"):
        assert name in readme, name


def test_the_installed_releases_are_at_or_above_the_floors() -> None:
    for name, floor in declared_floors().items():
        assert Version(metadata.version(name)) >= floor, name
