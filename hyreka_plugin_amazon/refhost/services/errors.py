"""What the service layer refuses, typed: a host text id with its values, never a sentence.

Each face words an error in the language of its run or request: ``text(error, lang)``. The
``kind`` tells a face how bad it is (the CLI's exit code): ``input`` the seller must correct
what they gave (2), ``failed`` the action did not succeed (1), ``no_data`` there is no usable
data folder (3). ``field`` names the form field a console marks.

The store's own errors (``StoreError`` and its kinds) pass through the door unchanged; they
carry a ``text_id`` too where they name one. They are re-exported here so that no face needs
to import the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE, translate
from hyreka_plugin_amazon.refhost.store import AccountExistsError as AccountExistsError
from hyreka_plugin_amazon.refhost.store import AccountNotFoundError as AccountNotFoundError
from hyreka_plugin_amazon.refhost.store import StoreError as StoreError
from hyreka_plugin_amazon.refhost.store.database import damaged as damaged
from hyreka_plugin_amazon.refhost.store.errors import StoreDamagedError as StoreDamagedError
from hyreka_plugin_amazon.refhost.store.errors import WalNotClearedError as WalNotClearedError
from hyreka_plugin_amazon.refhost.store.leases import AccountBusyError as AccountBusyError

Kind = Literal["input", "failed", "no_data"]


class ServiceError(ValueError):
    """An action refused or failed in a way the seller can act on.

    ``text_id`` names the host text (``refhost/i18n/locale``), ``params`` fill it. ``str()`` is
    the text in German (the default language), for logs and tracebacks only.
    """

    def __init__(
        self,
        text_id: str,
        *,
        kind: Kind = "input",
        field: str | None = None,
        **params: object,
    ) -> None:
        super().__init__(translate(text_id, DEFAULT_LOCALE, **params))
        self.text_id = text_id
        self.params: Mapping[str, object] = params
        self.kind = kind
        self.field = field


class NeedsConfirmation(ServiceError):
    """The action destroys data and was not confirmed: the face asks (a prompt, ``--yes``, a
    confirmation page) and calls again with ``confirmed=True``. ``params`` say what would go
    (the question's text is ``text_id``)."""


def text(error: BaseException, lang: str) -> str:
    """The error in ``lang``: the connector's own words when it carries them (``messages``,
    language -> text: a report file it cannot read), its host text when it names one
    (``text_id``), else its message."""
    worded = getattr(error, "messages", None)
    if isinstance(worded, dict) and isinstance(worded.get(lang), str):
        return str(worded[lang])
    text_id = getattr(error, "text_id", None)
    if isinstance(text_id, str):
        params: Mapping[str, object] = getattr(error, "params", {})
        return translate(text_id, lang, **params)
    return str(error)
