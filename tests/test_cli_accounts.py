"""``hyreka-amazon account set|credentials|remove``, checked settings, trimmed secrets, and
read commands that create nothing: through ``cli.main`` against the simulator."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from helpers.cli import Cli, clean_environment, set_secrets

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.simulator import Simulator

FAST = ("--setting", "poll_interval=0.05", "--setting", "max_poll_interval=0.2")


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
) -> Cli:
    clean_environment(monkeypatch, host_env)
    return Cli(tmp_path / "data", capsys)


def add(run: Cli, sim: Simulator, *extra: str, name: str = "shop", code: int = 0) -> str:
    out, err = run(
        "account", "add", name, "--marketplace", "DE", "--marketplace", "FR",
        "--endpoint", sim.url, "--token-url", sim.token_url, *FAST, *extra, code=code,
    )  # fmt: skip
    return out + err


def stored(run: Cli, name: str = "shop") -> dict[str, str]:
    with ReferenceHost(run.data) as host:
        return dict(host.store.get_account(name).settings)


def test_adding_a_name_twice_says_which_command_changes_it(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch)
    add(run, simulator)
    text = add(run, simulator, code=2)
    assert text == (
        "hyreka-amazon: Ein Konto „shop“ gibt es schon; ändern mit: hyreka-amazon account set "
        "shop (neue Zugangsdaten: hyreka-amazon account credentials shop).\n"
    )


def test_secrets_pasted_with_blanks_are_trimmed(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = simulator.credentials
    set_secrets(
        simulator,
        monkeypatch,
        client_secret=f"{creds.client_secret} ",
        refresh_token=f"\t{creds.refresh_token}\n",
    )
    add(run, simulator)
    out, _ = run("test-login", "shop")
    assert out.startswith("OK: Anmeldung erfolgreich.")


def test_settings_are_checked_when_given_never_clamped(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch)
    text = add(run, simulator, "--setting", "lookback_days=abc", code=2)
    assert text == "hyreka-amazon: Einstellung lookback_days: „abc“ ist keine ganze Zahl.\n"
    text = add(run, simulator, "--setting", "lookback_days=90", code=2)
    assert "lookback_days: 90 geht nicht; erlaubt sind 1 bis 60." in text
    text = add(run, simulator, "--setting", "poll_minute=30", code=2)
    assert text.startswith("hyreka-amazon: Unbekannte Einstellung „poll_minute“; möglich: ")
    assert "poll_minutes" in text
    assert "lookback_days" in text
    assert not (run.data / "vault.key").exists()  # nothing stored by a refused add

    add(run, simulator, "--setting", "lookback_days=45", "--setting", "polling=OFF")
    settings = stored(run)
    assert settings["lookback_days"] == "45"
    assert settings["polling"] == "off"
    assert settings["report_check_seconds"] == "0.05"  # its former name poll_interval
    assert "poll_interval" not in settings

    out, _ = run("account", "set", "shop", "--setting", "poll_minutes=30")
    assert out.startswith("Konto „shop“ geändert.")
    assert stored(run)["poll_minutes"] == "30"
    assert stored(run)["lookback_days"] == "45"  # the others stay
    _, err = run("--lang", "en", "account", "set", "shop", "--setting", "poll_minutes=1", code=2)
    assert err == "hyreka-amazon: Setting poll_minutes: 1 is not possible; allowed are 5 to 1440.\n"
    assert stored(run)["poll_minutes"] == "30"


def test_account_set_changes_marketplaces_within_the_region(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch)
    add(run, simulator)
    run("account", "set", "shop", "--marketplace", "DE", "--marketplace", "IT")
    out, _ = run("account", "list")
    assert out.split("\t")[2] == "DE, IT"
    _, err = run("account", "set", "shop", "--marketplace", "US", code=2)
    assert "gehört zur Region na, nicht zu eu" in err
    _, err = run("account", "set", "shop", "--marketplace", "XX", code=2)
    assert err.startswith("hyreka-amazon: Unbekannter Marktplatz „XX“; möglich: ")
    _, err = run("account", "set", "nobody", "--marketplace", "DE", code=2)
    assert "Es gibt kein Konto „nobody“" in err
    assert [e.action for e in AuditLog(run.data).entries()] == ["account.add", "account.set"]


def test_new_credentials_fix_a_refused_login(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch, client_secret="amzn1.oa2-cs.v1.mistyped")
    add(run, simulator)
    run("test-login", "shop", code=1)
    set_secrets(simulator, monkeypatch)
    out, _ = run("account", "credentials", "shop")
    assert out == (
        "Neue Zugangsdaten für „shop“ gespeichert. Nächster Schritt: hyreka-amazon test-login "
        "shop\n"
    )
    assert simulator.credentials.client_secret not in out
    out, _ = run("test-login", "shop")
    assert out.startswith("OK: ")
    audit = AuditLog(run.data).entries()
    assert [e.action for e in audit] == ["account.add", "account.credentials"]
    assert simulator.credentials.client_secret not in (run.data / "audit.log").read_text()


def test_account_remove_asks_unless_yes_and_takes_the_orders_along(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch)
    add(run, simulator)
    run("sync", "shop")
    with ReferenceHost(run.data) as host:
        orders = len(host.store.list_orders(account_id="shop"))
    assert orders > 0

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no question possible
    _, err = run("account", "remove", "shop", code=2)
    assert err == (
        "hyreka-amazon: Entfernen ohne Rückfrage nur mit --yes: hyreka-amazon account remove "
        "shop --yes\n"
    )
    answers = io.StringIO("n\n")
    monkeypatch.setattr(answers, "isatty", lambda: True)
    monkeypatch.setattr(sys, "stdin", answers)
    out, _ = run("account", "remove", "shop", code=1)
    assert out.endswith("Nichts entfernt; das Konto „shop“ bleibt.\n")
    assert f"mit {orders} Bestellungen" in out

    out, _ = run("account", "remove", "shop", "--yes")
    assert out == (
        f"Konto „shop“ entfernt, mit {orders} Bestellungen und ihren persönlichen Daten.\n"
    )
    with ReferenceHost(run.data) as host:
        assert host.store.list_accounts() == []
        assert host.store.list_orders() == []
        assert host.store.list_runs() == []
    last = AuditLog(run.data).entries()[-1]
    assert (last.action, last.account, last.facts) == (
        "account.remove",
        "shop",
        {"orders": orders, "complete": True},
    )
    add(run, simulator)  # the name is free again


@pytest.mark.parametrize(
    "command",
    [("orders",), ("status",), ("sync", "shop"), ("test-login", "shop")],
)
def test_read_commands_create_no_data_folder_and_no_key(
    run: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    _, err = run(*command, code=3)
    assert err.startswith(f"hyreka-amazon: Im Datenordner {run.data} ist noch nichts gespeichert.")
    assert not run.data.exists()
    out, _ = run("--lang", "en", "account", "list")
    assert out.startswith("No account yet")
    assert not run.data.exists()


def test_expected_errors_are_messages_not_tracebacks(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, err = run("--lang", "en", "import-report", str(tmp_path / "missing.txt"), code=2)
    assert err == f"hyreka-amazon: File not found: {tmp_path / 'missing.txt'}\n"
    assert not run.data.exists()

    locked = tmp_path / "a-file"  # not a folder: nothing can be created under it
    locked.write_text("")
    set_secrets(simulator, monkeypatch)
    blocked = Cli(locked / "data", run.capsys)
    _, err = blocked("account", "add", "x", "--marketplace", "DE", code=3)
    assert err.startswith(f"hyreka-amazon: Der Datenordner {locked / 'data'} lässt sich nicht")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_AT.UTF-8"}, "de"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "de"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "de_DE"}, "de"),
        ({"LC_MESSAGES": "de_DE", "LC_ALL": "en_GB"}, "en"),
        ({"LC_ALL": "en_GB", "HYREKA_LANG": "de"}, "de"),
        ({}, "de"),
    ],
)
def test_one_language_from_the_environment(
    run: Cli, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, _ = run("account", "list")
    assert out.startswith({"de": "Noch kein Konto", "en": "No account yet"}[expected])
    out, _ = run("account", "list", "--lang", "de" if expected == "en" else "en")
    assert not out.startswith({"de": "Noch kein Konto", "en": "No account yet"}[expected])


def test_the_connector_describes_its_settings_for_the_host(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_secrets(simulator, monkeypatch)
    add(run, simulator)
    with ReferenceHost(run.data) as host:
        info = host.plugins.connector()
    keys = [s.key for s in info.settings]
    assert {"lookback_days", "poll_minutes", "polling", "report_check_seconds"} <= set(keys)
    for setting in info.settings:
        assert setting.label["de"]
        assert setting.help["en"]
        if setting.default:  # empty: the connector decides (order_report_type by region)
            assert setting.parse(setting.default) == setting.default
    assert info.setting("poll_interval").key == "report_check_seconds"  # former names work
