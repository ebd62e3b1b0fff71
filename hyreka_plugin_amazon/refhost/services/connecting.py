"""Connecting an account with Amazon ("Mit Amazon verbinden"): Amazon's website authorization
workflow, for every face.

The ERP's vendor registers one SP-API app; whoever runs the ERP configures it once
(``VendorApp``: application id, LWA client id and secret; ``configure`` keeps it in the data
folder, the secret encrypted with the vault key as the accounts' secrets are). A seller only
consents: ``begin`` checks what the seller gave (name, region, marketplaces) and gives the
consent page's address with a fresh ``state`` (random, single-use, short-lived; the face
binds it to the seller's session); ``finish`` checks the state Amazon sent back, exchanges
the code through the connector (``exchange_authorization``), stores the refresh token with
the account (encrypted) and the selling partner id, and audits ``account.connected``.
Refusal, expiry, a wrong state, a reused code: a ServiceError, nothing stored. Reconnecting
(``begin(..., reconnect=name)``) keeps the account's orders and settings. The code and the
refresh token are never in a text, a log or the audit log.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import Vault, VaultError
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.accounts import (
    AccountForm,
    build,
    connector_info,
    name_free,
    stored,
)
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.store import AccountExistsError
from hyreka_plugin_amazon.secret import Secret

APP_ID_ENV = "HYREKA_AMAZON_APP_ID"
CLIENT_ID_ENV = "AMAZON_LWA_CLIENT_ID"
CLIENT_SECRET_ENV = "AMAZON_LWA_CLIENT_SECRET"  # noqa: S105 (the variable's name)
DRAFT_ENV = "HYREKA_AMAZON_APP_DRAFT"
APP_FILE = "amazon-app.json"  # in the data folder: the vendor's app, its secret encrypted
STATE_LIFETIME_S = 600.0  # the consent must come back within ten minutes (the code: five)
SELLING_PARTNER_KEY = "refhost.selling_partner_id"  # the account's state: Amazon's seller id
CALLBACK_PATH = "/c/{connector}/connect/callback"  # the redirect URI registered with the app


@dataclass(frozen=True)
class VendorApp:
    """The ERP vendor's SP-API app: what Seller Central asks the seller to authorise."""

    application_id: str
    client_id: str
    client_secret: Secret
    draft: bool = False  # not yet published: the consent URL says version=beta


@dataclass(frozen=True)
class Pending:
    """A consent the seller was sent to: what the face keeps in the seller's session (no
    secret in it) until Amazon sends the browser back."""

    state: str
    connector: str
    name: str
    region: str
    marketplaces: tuple[str, ...]
    started: float  # wall time, seconds (``time.time``)
    reconnect: str | None = None  # the account's id when re-authorising

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "marketplaces": list(self.marketplaces)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pending:
        return cls(
            state=str(data["state"]),
            connector=str(data["connector"]),
            name=str(data["name"]),
            region=str(data["region"]),
            marketplaces=tuple(str(m) for m in data["marketplaces"]),
            started=float(data["started"]),
            reconnect=data.get("reconnect"),
        )


# ------------------------------------------------------------------------------ the app


def vendor_app(
    host: ReferenceHost,
    *,
    application_id: str | None = None,
    draft: bool | None = None,
    env: Mapping[str, str] = os.environ,
) -> VendorApp | None:
    """The vendor's app: ``application_id`` (``--app-id``) or ``HYREKA_AMAZON_APP_ID`` with
    ``AMAZON_LWA_CLIENT_ID`` and ``AMAZON_LWA_CLIENT_SECRET``, else the one kept in the data
    folder; one given completely is kept there for the next start (``configure``). None: no
    app, the seller types the credentials by hand."""
    given_id = application_id or env.get(APP_ID_ENV, "").strip()
    client_id = env.get(CLIENT_ID_ENV, "").strip()
    client_secret = env.get(CLIENT_SECRET_ENV, "").strip()
    if draft is None:
        draft = env.get(DRAFT_ENV, "").strip().lower() in ("1", "yes", "true", "on")
    if given_id and client_id and client_secret:
        return configure(host, VendorApp(given_id, client_id, Secret(client_secret), draft))
    kept = _read_app(host)
    if given_id and (kept is None or kept.application_id != given_id):
        raise ServiceError("connect.app_incomplete", env=f"{CLIENT_ID_ENV}, {CLIENT_SECRET_ENV}")
    return dataclasses.replace(kept, draft=True) if kept is not None and draft else kept


def configure(host: ReferenceHost, app: VendorApp) -> VendorApp:
    """Keep the vendor's app in the data folder (the secret encrypted with the vault key);
    audited as ``app.configured`` when it changed."""
    if _read_app(host) == app:
        return app
    vault = Vault.open(host.data_dir, env=host.env, create=False)
    record = {
        "application_id": app.application_id,
        "client_id": app.client_id,
        "client_secret": vault.encrypt_text(app.client_secret.reveal()).decode("ascii"),
        "draft": app.draft,
    }
    path = _app_file(host)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(path)
    auditing.record(host, "app.configured", draft=app.draft)
    return app


def _read_app(host: ReferenceHost) -> VendorApp | None:
    path = _app_file(host)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        vault = Vault.open(host.data_dir, env=host.env, create=False)
        secret = vault.decrypt_text(str(record["client_secret"]).encode("ascii"))
        return VendorApp(
            str(record["application_id"]),
            str(record["client_id"]),
            Secret(secret),
            bool(record.get("draft", False)),
        )
    except (OSError, ValueError, KeyError, VaultError):
        raise ServiceError("connect.app_unreadable", file=str(path)) from None


def _app_file(host: ReferenceHost) -> Path:
    return Path(host.data_dir) / APP_FILE


# ------------------------------------------------------------------------------ the flow


def callback_path(connector: str) -> str:
    """The console's path Amazon sends the browser back to (under the public address)."""
    return CALLBACK_PATH.format(connector=connector)


def begin(
    host: ReferenceHost,
    app: VendorApp,
    form: AccountForm,
    *,
    redirect_uri: str,
    reconnect: str | None = None,
    locale: str = "de",
    now: Callable[[], float] = time.time,
) -> tuple[Pending, str]:
    """A consent for a new account (``form``: name, region, marketplaces; checked as any
    new account) or for ``reconnect`` (its name or id): the pending consent and the address
    of the consent page the seller's browser goes to."""
    account = _reconnecting(host, app, reconnect) if reconnect else _new(host, app, form, locale)
    state = secrets.token_urlsafe(32)
    url = host.plugins.authorization_url(
        account,
        application_id=app.application_id,
        state=state,
        redirect_uri=redirect_uri,
        draft=app.draft,
    )
    pending = Pending(
        state=state,
        connector=account.connector,
        name=account.name,
        region=account.region,
        marketplaces=account.marketplace_ids,
        started=now(),
        reconnect=account.id if reconnect else None,
    )
    return pending, url


def finish(
    host: ReferenceHost,
    app: VendorApp,
    pending: Pending | None,
    answer: Mapping[str, str],
    *,
    redirect_uri: str,
    endpoint: str | None = None,
    token_url: str | None = None,
    locale: str = "de",
    now: Callable[[], float] = time.time,
) -> Account:
    """Amazon's ``answer`` (the callback's ``state``, ``selling_partner_id``,
    ``spapi_oauth_code``, or ``error``) to ``pending`` (the session's, taken out: a state
    works once) -> the connected account, stored; audited ``account.connected``.

    ServiceError ``connect.wrong_state`` (no consent pending, or another state: a forged or
    replayed callback), ``connect.expired`` (the consent took too long), ``connect.denied``
    (the seller cancelled), ``connect.incomplete``, ``connect.refused`` (LWA refused the code:
    used, expired; the connector's words). Nothing is stored then."""
    given = answer.get("state", "")
    if pending is None or not hmac.compare_digest(given.encode(), pending.state.encode()):
        raise ServiceError("connect.wrong_state")
    if now() - pending.started > STATE_LIFETIME_S:
        raise ServiceError("connect.expired", minutes=int(STATE_LIFETIME_S // 60))
    if answer.get("error"):
        raise ServiceError("connect.denied")
    code = answer.get("spapi_oauth_code", "")
    partner = answer.get("selling_partner_id", "")
    if not code or not partner or not partner.isalnum() or len(partner) > 32:
        raise ServiceError("connect.incomplete")
    if pending.reconnect:
        account = _reconnecting(host, app, pending.reconnect)
    else:
        form = AccountForm(
            name=pending.name,
            values={"region": pending.region, "marketplaces": list(pending.marketplaces)},
            endpoint=endpoint,
            token_url=token_url,
            connector=pending.connector,
        )
        account = _new(host, app, form, locale)
    result = host.plugins.exchange_authorization(
        dataclasses.replace(account, locale=locale), Secret(code), redirect_uri
    )
    if not result.ok or result.refresh_token is None:
        raise ServiceError("connect.refused", message=result.message)
    connected = dataclasses.replace(account, refresh_token=result.refresh_token)
    try:
        if pending.reconnect:
            host.store.update_account(connected)
        else:
            host.store.add_account(connected)
    except AccountExistsError:
        raise ServiceError("cli.account_exists", field="name", name=account.name) from None
    host.store.set_state(connected.id, SELLING_PARTNER_KEY, partner)
    auditing.record(
        host,
        "account.connected",
        account=connected.name,
        selling_partner_id=partner,
        reconnected=bool(pending.reconnect),
        marketplaces=len(connected.marketplace_ids),
    )
    return connected


def selling_partner_id(host: ReferenceHost, name: str) -> str | None:
    """The Amazon seller id recorded when the account was connected (None: typed by hand)."""
    return host.store.get_state(stored(host, name).id, SELLING_PARTNER_KEY)


def _new(host: ReferenceHost, app: VendorApp, form: AccountForm, locale: str) -> Account:
    info = connector_info(host, form.connector)
    account = build(info, form, locale=locale, credentials=False)
    name_free(host, account.name)
    return dataclasses.replace(account, client_id=app.client_id, client_secret=app.client_secret)


def _reconnecting(host: ReferenceHost, app: VendorApp, name: str) -> Account:
    """The account as it is (orders, settings, endpoints kept) with the app's client."""
    found = stored(host, name)
    return Account(
        id=found.id,
        name=found.name,
        connector=found.connector,
        region=found.region,
        marketplace_ids=found.marketplace_ids,
        client_id=app.client_id,
        client_secret=app.client_secret,
        refresh_token=Secret(""),
        endpoint=found.endpoint,
        token_url=found.token_url,
        settings=dict(found.settings),
        locale=found.locale,
    )
