"""Security end to end, with the simulator and the reference host: nothing secret or personal
on disk or in any output (faults included), key rotation interrupted and resumed, retention."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.accounts import simulator_account

from hyreka_plugin_amazon import diagnostics
from hyreka_plugin_amazon.contract import Account, Address, Order
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.vocabulary import Request, Response
from hyreka_plugin_amazon.spapi import transport

ENCODINGS = ("utf-8", "cp1252")
MIN_LENGTH = 6  # shorter values could turn up in random ciphertext bytes by chance
INVOICING = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


def personal_data(orders: Iterable[Mapping[str, Any]]) -> set[str]:
    """Buyers' names, companies, street lines, phones, e-mails and VAT ids of ``as_dict`` orders."""
    values: set[str | None] = set()
    for order in orders:
        values |= {
            order["buyer_email"],
            order["buyer_tax_registration_id"],
            order["buyer_company_name"],
        }
        for kind in ("billing_address", "shipping_address"):
            address = order[kind]
            if address:
                values |= {address["name"], address["company"], address["phone"]}
                values |= set(address["lines"])
    return {v.strip() for v in values if v and len(v.strip()) >= MIN_LENGTH}


def found_in_bytes(raw: bytes, needles: Iterable[str]) -> list[bytes]:
    """The needles, in any of ``ENCODINGS``, that occur in ``raw``."""
    encoded: set[bytes] = set()
    for needle in needles:
        for encoding in ENCODINGS:
            try:
                encoded.add(needle.encode(encoding))
            except UnicodeEncodeError:  # a name cp1252 cannot write is not written so
                continue
    return sorted(value for value in encoded if value in raw)


def found_in_text(text: str, needles: Iterable[str]) -> list[str]:
    return sorted(needle for needle in needles if needle in text)


def files_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@dataclass
class Wiretap:
    """What the simulator handed out: access tokens, RDTs and pre-signed download paths."""

    tokens: list[str] = field(default_factory=list)
    download_paths: list[str] = field(default_factory=list)

    def secrets(self, sim: Simulator) -> set[str]:
        creds = [seller.credentials for seller in sim.sellers.values()]
        return {
            *self.tokens,
            *self.download_paths,
            *(c.client_secret for c in creds),
            *(c.refresh_token for c in creds),
        }


@pytest.fixture
def wiretap(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> Wiretap:
    tap = Wiretap()
    dispatch = simulator.dispatch
    tokens = simulator.tokens

    def recording_dispatch(req: Request) -> Response | None:
        if req.path.startswith("/_download/"):
            tap.download_paths.append(req.path)
        return dispatch(req)

    def recording(issue: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(issue)
        def issue_and_note(*args: Any) -> str:
            tap.tokens.append(issue(*args))
            return tap.tokens[-1]

        return issue_and_note

    monkeypatch.setattr(simulator, "dispatch", recording_dispatch)
    monkeypatch.setattr(tokens, "issue_access_token", recording(tokens.issue_access_token))
    monkeypatch.setattr(tokens, "issue_rdt", recording(tokens.issue_rdt))
    return tap


def seller_account(sim: Simulator, name: str, orders: int = 30) -> Account:
    """The account of a further simulated seller: own credentials, faults and rate limits."""
    creds = sim.add_seller(marketplaces=("DE", "FR"), orders=orders, name=name).credentials
    return dataclasses.replace(
        simulator_account(sim, name, ("DE", "FR")),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
    )


def seller_id(sim: Simulator, account: Account) -> str:
    return next(
        s.seller_id
        for s in sim.sellers.values()
        if s.credentials.refresh_token == account.refresh_token.reveal()
    )


# --------------------------------------------------------------------------------------------
# (a) At rest: every file the host wrote, as raw bytes


def test_no_secret_or_personal_data_in_any_file_the_host_wrote(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    host_env: dict[str, str],
    wiretap: Wiretap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spool = tmp_path / "tmp"  # temporary files of this process (and SQLite's) land here
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.setenv("TMPDIR", str(spool))
    first = refhost.sync(account.name)
    assert first.ok, first.message
    assert first.created > 15  # seller-fulfilled only: FBA orders are never open
    opened = sorted(o.amazon_order_id for o in refhost.store.list_orders())
    simulator.ship_order(opened[0])
    simulator.cancel_order(opened[1])
    second = refhost.sync(account.name)
    assert second.ok, second.message
    assert second.updated == 2

    needles = personal_data(simulator.ground_truth()) | wiretap.secrets(simulator)
    needles.add(host_env[KEY_ENV])
    assert len(wiretap.tokens) >= 3  # an access token and two RDTs at least
    assert len(needles) > 300

    stored = json.dumps([o.as_dict() for o in refhost.store.list_orders()], ensure_ascii=False)
    assert len(found_in_text(stored, needles)) > 100  # decrypted, the buyers' data is there
    written = files_under(refhost.data_dir)
    names = {path.name for path in written}
    assert {DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"} <= names, names
    refhost.close()
    raw = b"".join([*written.values(), *files_under(refhost.data_dir).values()])
    assert opened[-1].encode() in raw  # order ids are plain: the bytes read are the store's
    assert found_in_bytes(raw, needles) == []
    assert files_under(spool) == {}  # no report or anything else parked in temporary files


# --------------------------------------------------------------------------------------------
# (b) Key rotation, interrupted and resumed with the command line


def _key_ids(data: Path) -> list[str]:
    """The vault keys the store's values are under: the key check, each account's secrets and
    its data key (the order records are under their orders' keys, wrapped under those)."""
    with sqlite3.connect(data / DB_FILE) as db:
        rows = db.execute(
            "SELECT key_id FROM meta UNION ALL SELECT key_id FROM accounts"
            " UNION ALL SELECT key_id FROM account_keys"
        ).fetchall()
    db.close()
    return [row[0] for row in rows]


def test_key_rotation_interrupted_and_resumed_with_the_cli(
    simulator: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("HYREKA_LANG", "en")  # the texts below are the English ones
    data = tmp_path / "data"
    with ReferenceHost(data, env={}) as host:  # the key in data/vault.key
        host.store.add_account(simulator_account(simulator))
        host.store.add_account(seller_account(simulator, "second"))
        assert host.sync("sim").ok
        assert host.sync("second").ok
        accounts, orders = host.store.list_accounts(), host.store.list_orders()
    assert len(orders) > 20  # seller-fulfilled only: FBA orders are never open
    old_key = (data / KEY_FILE).read_text().strip()
    old_id = Vault.open(data, env={}).key_id

    # Ctrl-C after the key check was committed under the new key, amid the accounts' values.
    with monkeypatch.context() as patch:
        decrypt = Vault.decrypt
        calls = [0]

        def interrupted(vault: Vault, token: bytes, bound_to: bytes = b"") -> bytes:
            if vault.key_count > 1:  # rotating: one account's two secrets, then Ctrl-C
                calls[0] += 1
                if calls[0] > 2:
                    raise KeyboardInterrupt
            return decrypt(vault, token, bound_to)

        patch.setattr(Vault, "decrypt", interrupted)
        assert main(["rotate-key", "--data", str(data)]) == 130
    err = capsys.readouterr().err
    assert "run `hyreka-amazon rotate-key` again to finish" in err

    keys = (data / KEY_FILE).read_text().split()
    assert len(keys) == 2
    assert keys[1] == old_key
    new_id = Vault.open(data, env={KEY_ENV: keys[0]}).key_id
    half = _key_ids(data)
    assert half.count(new_id) == 1  # the key check
    assert half.count(old_id) == 4  # the accounts' secrets and data keys
    with Store.open(data, env={}) as store:  # both keys in the file: everything reads
        assert store.list_accounts() == accounts
        assert store.list_orders() == orders
    with pytest.raises(VaultError):
        Store.open(data, env={KEY_ENV: keys[0]}).list_orders()  # the new key alone cannot

    assert main(["rotate-key", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "finishing a rotation" in out
    assert (data / KEY_FILE).read_text().split() == [keys[0]]
    assert set(_key_ids(data)) == {new_id}
    with ReferenceHost(data, env={}) as host:
        assert host.store.list_accounts() == accounts
        assert host.store.list_orders() == orders
        again = host.sync("sim")  # the decrypted credentials still sign in
        assert again.ok, again.message
        assert again.created == 0
    with pytest.raises(VaultError, match="cannot decrypt"):
        Store.open(data, env={KEY_ENV: old_key})


# --------------------------------------------------------------------------------------------
# (c) Faults with DEBUG logging: nothing secret or personal in any output


@dataclass
class Outputs:
    """Every text the host and the connector produced during the scenarios."""

    texts: list[str] = field(default_factory=list)
    exceptions: list[BaseException] = field(default_factory=list)

    def add(self, *items: object) -> None:
        self.texts.extend(item if isinstance(item, str) else repr(item) for item in items)

    def all_text(self) -> str:
        parts = list(self.texts)
        for exc in self.exceptions:
            parts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        return "\n".join(parts)


@pytest.fixture
def outputs(monkeypatch: pytest.MonkeyPatch) -> Outputs:
    """Collects the exceptions behind every failed login and sync, as the real flows raise them."""
    seen = Outputs()
    for name in ("login_failure", "sync_failure"):
        original = getattr(diagnostics, name)

        def noting(
            exc: Exception, *args: Any, _original: Any = original, **kwargs: Any
        ) -> diagnostics.Diagnosis:
            seen.exceptions.append(exc)
            diagnosis: diagnostics.Diagnosis = _original(exc, *args, **kwargs)
            return diagnosis

        monkeypatch.setattr(diagnostics, name, noting)
    return seen


def test_no_secret_or_personal_data_in_any_output_under_faults(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    host_env: dict[str, str],
    wiretap: Wiretap,
    outputs: Outputs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    urllib3 = logging.getLogger("urllib3")
    monkeypatch.setattr(urllib3, "level", urllib3.level)  # put back after the test
    urllib3.setLevel(logging.INFO)  # as the host runs (URLs in DEBUG)
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)
    faults = simulator.faults
    results: list[object] = []

    def scenario(name: str, *specs: dict[str, Any], wrong_secret: bool = False) -> Account:
        acc = seller_account(simulator, name)
        if wrong_secret:
            bad = acc.client_secret.reveal()[:-6] + "0badc0"
            acc = dataclasses.replace(acc, client_secret=Secret(bad))
            outputs_secrets.add(bad)
        refhost.store.add_account(acc)
        for spec in specs:
            faults.add({"seller_id": seller_id(simulator, acc), **spec})
        return acc

    outputs_secrets: set[str] = set()
    scenario("wrong-secret", wrong_secret=True)
    results.append(refhost.test_login("wrong-secret"))
    results.append(refhost.sync("wrong-secret"))
    scenario("revoked", {"name": "lwa_invalid_grant", "count": 10})
    results.append(refhost.test_login("revoked"))
    results.append(refhost.sync("revoked"))
    scenario("expired", {"name": "token_expired", "operation": "getReport"})
    results.append(refhost.sync("expired"))
    scenario("error-500", {"name": "internal_error", "operation": "getReport", "count": 10})
    results.append(refhost.sync("error-500"))
    scenario("truncated", {"name": "truncated_gzip", "report_type": INVOICING, "count": 10})
    results.append(refhost.sync("truncated"))
    scenario("malformed", {"name": "malformed_rows", "report_type": INVOICING})
    results.append(refhost.sync("malformed"))
    results.append(refhost.sync(account.name))  # a clean one: the happy path logs too

    outcomes = {getattr(r, "code", None) for r in results}
    assert outcomes == {
        "login.invalid_client",
        "login.invalid_grant",
        "sync.auth_failed",
        "sync.unavailable",
        "sync.document_error",
        "sync.ok",
    }
    malformed = refhost.store.get_account("malformed")
    assert refhost.store.list_problems(malformed.id)
    assert len(outputs.exceptions) >= 5

    # The command line on the same store: the key from the environment, as the host's admin.
    monkeypatch.setenv(KEY_ENV, host_env[KEY_ENV])
    creds = simulator.credentials
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", creds.client_secret)
    monkeypatch.setenv("AMAZON_REFRESH_TOKEN", creds.refresh_token)
    data = ["--data", str(refhost.data_dir)]
    commands = [
        ["account", "add", "cli", "--marketplace", "DE", "--endpoint", simulator.url,
         "--token-url", simulator.token_url],
        ["account", "list"],
        ["test-login", "sim"],
        ["test-login", "revoked"],
        ["sync", "sim"],
        ["sync", "truncated"],
        ["orders"],
        ["orders", "--status", "open"],
        ["orders", "--json"],  # exports without --names: no buyer's data (issue 25 item 9)
        ["orders", "--format", "csv"],
        ["purge", "--dry-run"],
        ["purge", "--days", "0"],
        ["rotate-key"],
    ]  # fmt: skip
    for command in commands:
        main([*command, *data])
        out, err = capsys.readouterr()
        outputs.add(out, err)
    assert "OK: " in "".join(outputs.texts)
    main(["orders", "--json", "--names", *data])  # asked for: the check sees the buyers' data
    shown = capsys.readouterr().out

    store = refhost.store
    for acc in store.list_accounts():
        outputs.add(acc, acc.client_secret, store.list_problems(acc.id))
    outputs.add(*results, *store.list_runs(limit=1000), store, refhost)
    outputs.add(*(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records))
    outputs.add(caplog.text)
    assert len(caplog.records) > 50  # DEBUG request lines of all the scenarios

    needles = (
        personal_data(simulator.ground_truth())
        | wiretap.secrets(simulator)
        | outputs_secrets
        | {host_env[KEY_ENV]}
    )
    assert len(found_in_text(shown, needles)) > 100
    assert found_in_text(outputs.all_text(), needles) == []


# --------------------------------------------------------------------------------------------
# (d) Retention


def test_after_the_retention_period_personal_data_is_gone_and_accounting_data_stays(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    assert refhost.sync(account.name).ok
    store = refhost.store
    opened = sorted(o.amazon_order_id for o in store.list_orders())
    shipped, cancelled, still_open = opened[:4], opened[4:6], opened[6:]
    for order_id in shipped:
        simulator.ship_order(order_id)
    for order_id in cancelled:
        simulator.cancel_order(order_id)
    assert refhost.sync(account.name).updated == 6
    before = {o.amazon_order_id: o for o in store.list_orders()}
    closed = sorted(shipped + cancelled)
    sealed_before = _sealed_payloads(store.path, closed)

    now = simulator.clock.now()
    assert store.purge_personal_data(now=now + timedelta(days=29)) == []
    assert sorted(store.purge_personal_data(now=now + timedelta(days=31), dry_run=True)) == closed
    assert store.list_orders() == list(before.values())  # a dry run changes nothing
    assert sorted(store.purge_personal_data(now=now + timedelta(days=31))) == closed

    for order_id in closed:
        original, purged = before[order_id], store.get_order(account.id, order_id)
        assert purged is not None
        record = json.dumps(purged.as_record(), ensure_ascii=False)
        personal = personal_data([original.as_dict()])
        assert personal, order_id
        assert found_in_text(record, personal) == []
        assert purged.buyer_email is None
        assert purged.buyer_tax_registration_id is None
        for kind in ("billing_address", "shipping_address"):
            address, was = getattr(purged, kind), getattr(original, kind)
            assert (address is None) == (was is None)
            if address is not None:
                assert address == Address(None, (), None, None, was.country_code)
                assert address.country_code
        assert _accounting(purged) == _accounting(original)
    for order_id in still_open:
        assert store.get_order(account.id, order_id) == before[order_id]

    purged_orders = [store.get_order(account.id, order_id) for order_id in closed]
    again = refhost.sync(account.name)  # a report overlap does not bring the data back
    assert again.ok, again.message
    assert [store.get_order(account.id, order_id) for order_id in closed] == purged_orders

    refhost.close()
    raw = b"".join(files_under(refhost.data_dir).values())
    left = [order_id for order_id, sealed in sealed_before.items() if sealed[16:80] in raw]
    assert left == [], "old encrypted copies of purged orders are still in the files"


def _sealed_payloads(db_path: Path, order_ids: list[str]) -> dict[str, bytes]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT amazon_order_id, payload FROM orders WHERE amazon_order_id IN"
            " (SELECT value FROM json_each(?))",
            (json.dumps(order_ids),),
        ).fetchall()
    db.close()
    return {row[0]: bytes(row[1]) for row in rows}


def _accounting(order: Order) -> tuple[object, ...]:
    addresses = (order.billing_address, order.shipping_address)
    return (
        order.amazon_order_id,
        order.status,
        order.marketplace_id,
        order.sales_channel,
        order.fulfillment_channel,
        order.currency,
        order.purchase_date,
        order.last_updated,
        order.lines,
        order.total,
        order.is_business_order,
        tuple(a.country_code if a else None for a in addresses),
    )


# --------------------------------------------------------------------------------------------
# Key file permissions


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_readable_by_others_is_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    data = tmp_path / "data"
    ReferenceHost(data, env={}).close()
    key_file = data / KEY_FILE
    key = key_file.read_text().strip()
    key_file.chmod(0o644)
    before = files_under(data)

    with pytest.raises(VaultError) as caught:
        ReferenceHost(data, env={})
    assert str(caught.value) == (
        f"refusing to use {key_file}: group or others may read or write it; "
        f"run `chmod 600 {key_file}`"
    )
    assert main(["purge", "--dry-run", "--data", str(data), "--lang", "en"]) == 2
    assert main(["rotate-key", "--data", str(data), "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert err.count(f"refusing to use {key_file}") == 2
    assert key not in out + err
    assert files_under(data) == before
