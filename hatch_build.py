"""Build hook: compile the message catalogs (``locale/*.po``) to ``.mo`` files with Babel.

The wheel carries the ``.mo`` files (build artifacts; they are not in git), which the package
reads with the standard library's ``gettext``. An editable install compiles them in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CATALOGS = ("hyreka_plugin_amazon/locale", "hyreka_plugin_amazon/refhost/i18n/locale")


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        for folder in CATALOGS:
            for source in sorted((root / folder).glob("*.po")):
                with source.open("rb") as po:
                    catalog = read_po(po, locale=source.stem, abort_invalid=True)
                compiled = source.with_suffix(".mo")
                with compiled.open("wb") as mo:
                    write_mo(mo, catalog, use_fuzzy=False)
                build_data["artifacts"].append(compiled.relative_to(root).as_posix())
