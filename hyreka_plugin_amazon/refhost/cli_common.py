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
from collections.abc import Sequence
from typing import Final

from hyreka_plugin_amazon.contract import Account, ConnectorInfo, SettingError
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.store import DB_FILE, AccountNotFoundError, Store
from hyreka_plugin_amazon.refhost.store.database import check_not_lost
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.refhost.texts import translate

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


def database_of(args: argparse.Namespace) -> str | None:
    """The PostgreSQL URL of ``--database`` or ``HYREKA_AMAZON_DATABASE``; None: SQLite."""
    return getattr(args, "database", None) or os.environ.get(DATABASE_ENV, "").strip() or None


def open_host(args: argparse.Namespace, *, create: bool = False) -> ReferenceHost:
    """The reference host of ``--data`` (and ``--database``). Unless ``create`` (commands that
    store something new), a folder without a store is an error: read commands create no
    folder and no key."""
    folder = data_dir(args.data, create=False)
    if database_of(args) is None:
        check_not_lost(folder / DB_FILE)  # a key file without its database: never start anew
    if not create and not has_store(args):
        raise CliError(translate("cli.no_data", args.lang, folder=folder), EXIT_NO_DATA)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return ReferenceHost(folder, database=database_of(args))
    except OSError:
        raise CliError(
            translate("cli.data_unwritable", args.lang, folder=folder), EXIT_NO_DATA
        ) from None


def error_text(exc: BaseException, lang: str) -> str:
    """An expected error in the run's language: the host's text for a store or vault error
    that names one (``text_id``), the connector's words for a report file it cannot read
    (``messages``, language -> text), else the error's own message."""
    worded = getattr(exc, "messages", None)
    if isinstance(worded, dict) and isinstance(worded.get(lang), str):
        return str(worded[lang])
    text_id = getattr(exc, "text_id", None)
    if isinstance(text_id, str):
        params: dict[str, object] = getattr(exc, "params", {})
        return translate(text_id, lang, **params)
    return str(exc)


def has_store(args: argparse.Namespace) -> bool:
    """Whether there is a store: a PostgreSQL database is named, or the data folder holds
    one (nothing is created)."""
    if database_of(args) is not None:
        return True
    return (data_dir(args.data, create=False) / DB_FILE).exists()


def get_account(store: Store, name: str, lang: str) -> Account:
    try:
        return store.get_account(name)
    except AccountNotFoundError:
        raise CliError(translate("cli.account_not_found", lang, name=name)) from None


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


def parse_settings(info: ConnectorInfo, given: Sequence[str], lang: str) -> dict[str, str]:
    """``KEY=VALUE`` texts checked against the connector's settings, under their own names."""
    values: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise CliError(translate("cli.setting.syntax", lang, text=text))
        values[key.strip()] = value.strip()
    try:
        return info.check_settings(values)
    except SettingError as exc:
        raise CliError(setting_message(exc, values.get(exc.key, ""), lang)) from None


def setting_message(exc: SettingError, value: str, lang: str) -> str:
    """The seller's sentence for a refused setting."""
    return translate(
        f"cli.setting.{exc.problem}",
        lang,
        key=exc.key,
        value=value,
        allowed=", ".join(exc.allowed),
        minimum=_plain(exc.minimum),
        maximum=_plain(exc.maximum),
    )


def _plain(number: float | None) -> str:
    if number is None:
        return "-"
    return str(int(number)) if float(number).is_integer() else str(number)
