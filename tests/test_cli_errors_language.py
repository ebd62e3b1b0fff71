"""Issue 14: the store's and the vault's errors speak the run's language, without a traceback.

A wrong key, a missing key file and a key file open to others, each in German and English,
through ``hyreka-amazon orders`` on a real store; the key never appears in the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Vault
from hyreka_plugin_amazon.refhost.store import Store

WORDS = {
    "wrong key": {"de": "lassen sich mit dem eingestellten Schlüssel", "en": "cannot decrypt"},
    "no key": {"de": "Kein Schlüssel", "en": "no vault key"},
    "key open": {"de": "wird nicht benutzt", "en": "refusing to use"},
}


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(KEY_ENV, raising=False)
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    Store.open(folder, env={}).close()  # a store with its key file
    return folder


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("case", sorted(WORDS))
def test_a_key_problem_is_told_in_the_runs_language(
    case: str,
    lang: str,
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = data / KEY_FILE
    wrong = Vault.generate_key()
    if case == "wrong key":
        monkeypatch.setenv(KEY_ENV, wrong)
    elif case == "no key":
        key.unlink()
    else:
        key.chmod(0o644)
    code = cli.main(["--lang", lang, "--data", str(data), "orders"])
    out, err = capsys.readouterr()
    assert code == 2
    assert WORDS[case][lang] in err
    other = "en" if lang == "de" else "de"
    assert WORDS[case][other] not in err
    assert "Traceback" not in err
    assert wrong not in out + err


DATABASE_WORDS = {
    "postgresql://hyreka:s3cret-pw@127.0.0.1:1/hyreka": {
        "de": "Keine Verbindung zur Datenbank",
        "en": "cannot connect to the database",
    },
    "mysql://somewhere/else": {"de": "muss eine postgresql://-Adresse sein", "en": "must be a"},
}
DATABASE_CODES = {  # unreachable: try again later (EX_TEMPFAIL); a wrong kind of URL: input
    "postgresql://hyreka:s3cret-pw@127.0.0.1:1/hyreka": 75,
    "mysql://somewhere/else": 2,
}


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("url", sorted(DATABASE_WORDS))
def test_a_database_problem_is_told_in_the_runs_language(
    url: str, lang: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--lang", lang, "--data", str(data), "--database", url, "orders"])
    err = capsys.readouterr().err
    assert code == DATABASE_CODES[url]
    assert DATABASE_WORDS[url][lang] in err
    assert "Traceback" not in err
    assert "s3cret-pw" not in err  # the URL's password is never shown
