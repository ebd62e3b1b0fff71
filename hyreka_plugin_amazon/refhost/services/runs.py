"""Running the connector for an account: "Anmeldung testen" and "Synchronisieren".

``lang`` is the language of the run or request (the CLI's ``--lang``, the console's session):
the connector answers in it through an account copy with that ``locale`` for this call only;
the stored account keeps the seller's language, which background syncs (``lang`` None) speak.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hyreka_plugin_amazon.contract import LoginResult, Progress, SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services.accounts import get


def login_test(host: ReferenceHost, name: str, *, lang: str | None = None) -> LoginResult:
    """The connector's login test of the account, its message in ``lang``."""
    return host.test_login(get(host, name).id, locale=lang)


def sync(
    host: ReferenceHost,
    name: str,
    *,
    lang: str | None = None,
    trigger: str = "manual",
    on_progress: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
) -> SyncResult:
    """One sync of the account (pending shipments first), recorded in its history; its
    messages in ``lang`` (None: the account's own language)."""
    account = get(host, name)
    return host.sync(
        account.id,
        trigger=trigger,
        on_progress=on_progress,
        cancel_event=cancel_event,
        locale=lang,
    )
