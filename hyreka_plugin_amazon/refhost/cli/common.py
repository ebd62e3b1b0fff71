"""What the ``hyreka-amazon`` command modules share: opening the host, expected errors with
their exit codes, secrets from the environment or a hidden prompt, checked settings.

Exit codes: 0 done; 1 the action failed (login refused, sync failed); 2 wrong input (an
unknown account, setting or file, a bad value); 3 no usable data folder (none yet, or one that
cannot be written); 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.safety.terminal import (
    printable_params,
    printable_text,
)

if TYPE_CHECKING:  # the host is imported when a command opens it (``--version`` never does)
    from hyreka_plugin_amazon.contract import ConnectorInfo
    from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost

EXIT_FAILED: Final = 1
EXIT_INPUT: Final = 2
EXIT_NO_DATA: Final = 3

SECRET_ENV: Final = {
    "client_id": "AMAZON_LWA_CLIENT_ID",
    "client_secret": "AMAZON_LWA_CLIENT_SECRET",
    "refresh_token": "AMAZON_REFRESH_TOKEN",
}


class CliError(Exception):
    """An expected failure: ``main`` prints the message (already in the run's language) and
    exits with ``code``, never a traceback."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


EXIT_CODES: Final = {"input": EXIT_INPUT, "failed": EXIT_FAILED, "no_data": EXIT_NO_DATA}


def database_of(args: argparse.Namespace) -> str | None:
    """The PostgreSQL URL of ``--database`` or ``HYREKA_AMAZON_DATABASE``; None: SQLite."""
    from hyreka_plugin_amazon.refhost.services import opening

    return opening.database_url(getattr(args, "database", None))


def warn_about_password_in_argv(args: argparse.Namespace) -> None:
    """Warn (stderr) when ``--database`` carries a password: the command line of a running
    process is readable by every user of the machine (``ps``, ``/proc/PID/cmdline``). The
    command still runs (refusing would not take the password back out of the process list);
    the warning says where the password belongs."""
    from hyreka_plugin_amazon.refhost.services import opening

    url = getattr(args, "database", None)
    if url and opening.has_password(url):
        warning = translate("cli.database_password_argv", args.lang, env=opening.DATABASE_ENV)
        print(f"hyreka-amazon: {warning}", file=sys.stderr, flush=True)


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an error of the PostgreSQL driver (psycopg) that reached a command."""
    return type(exc).__module__.split(".")[0] == "psycopg"


def driver_error_text(exc: BaseException, args: argparse.Namespace) -> str:
    """A driver's error in the run's language, with every form of the password masked (its
    messages may quote the URL)."""
    from hyreka_plugin_amazon.refhost.services import opening

    url = database_of(args) or ""
    lines = str(exc).strip().splitlines()
    detail = opening.masked(lines[0] if lines else type(exc).__name__, url)
    return translate("store.pg_failed", args.lang, url="PostgreSQL", detail=detail)


def open_host(args: argparse.Namespace, *, create: bool = False) -> ReferenceHost:
    """The reference host of ``--data`` (and ``--database``). Unless ``create`` (commands that
    store something new), a folder without a store is an error: read commands create no
    folder and no key."""
    from hyreka_plugin_amazon.refhost.services import opening

    return opening.open_host(args.data, database_of(args), create=create)


def error_text(exc: BaseException, lang: str) -> str:
    """An expected error in the run's language, safe to print: the host's text for a service,
    store or vault error that names one (``text_id``; its values ``printable``), else the
    error's own message (``printable`` but for its line breaks)."""
    from hyreka_plugin_amazon.refhost.services import errors

    text_id = getattr(exc, "text_id", None)
    if isinstance(text_id, str):
        params: Mapping[str, object] = getattr(exc, "params", {})
        return printable_text(translate(text_id, lang, **printable_params(params)))
    return printable_text(errors.text(exc, lang))


def say(message_id: str, lang: str, **params: object) -> str:
    """The host text ``message_id`` in ``lang`` with its values made ``printable``: what the
    CLI prints when a value came from the seller, the store or Amazon."""
    return translate(message_id, lang, **printable_params(params))


def has_store(args: argparse.Namespace) -> bool:
    """Whether there is a store: a PostgreSQL database is named, or the data folder holds
    one (nothing is created)."""
    from hyreka_plugin_amazon.refhost.services import opening

    return opening.has_store(args.data, database_of(args))


def secret_input(info: ConnectorInfo, key: str, lang: str) -> str:
    """The secret from its ``AMAZON_*`` variable, else a hidden prompt; blanks around it (a
    paste's trailing space or newline) removed. Empty or no terminal: CliError."""
    env = SECRET_ENV[key]
    value = os.environ.get(env, "").strip()
    if value:
        return value
    account_field = info.account_field(key)
    label = account_field.label.get(lang) or next(iter(account_field.label.values()), key)
    if not sys.stdin.isatty():
        raise CliError(translate("cli.secret_missing", lang, label=label, env=env))
    value = getpass.getpass(f"{label}: ").strip()
    if not value:
        raise CliError(translate("cli.secret_missing", lang, label=label, env=env))
    return value


def parse_settings(info: ConnectorInfo, given: Sequence[str]) -> dict[str, str]:
    """``--setting KEY=VALUE`` texts checked against the connector's settings, under their own
    names (ServiceError for one it refuses)."""
    from hyreka_plugin_amazon.refhost.services import accounts

    return accounts.check_settings(info, accounts.parse_settings(given))
