"""An Amazon that cannot be reached is told within about a minute, in the seller's words.

A server that takes the connection but never answers: the client stops trying once
``GIVE_UP_AFTER_S`` has passed since the call's first attempt (one read timeout, not one per
attempt). A refused connection and an error status read as "keine Verbindung" and "Fehler 503
bei Amazon" in German, never as requests' English exception text.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest
from helpers.accounts import simulator_account
from helpers.sim import add_fault

from hyreka_plugin_amazon import diagnostics
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi import errors, transport
from hyreka_plugin_amazon.spapi.transport import Transport


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def _transport(read_timeout: float) -> Transport:
    return Transport(
        session=None,
        timeout=(1.0, read_timeout),
        sleep=lambda _: None,
        monotonic=lambda: 0.0,
        max_attempts=5,
        max_wait=60.0,
        user_agent="test",
    )


def test_a_silent_server_is_given_up_after_the_deadline_not_after_every_attempt(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "GIVE_UP_AFTER_S", 0.5)
    client = _transport(read_timeout=0.2)

    with pytest.raises(errors.TransportError) as caught:
        client.send("getReport", "GET", silent_server, log_path="/reports")

    attempts = client.calls["getReport"]
    assert 2 <= attempts < 5  # retried while young, then given up (0.2 s per attempt)
    assert isinstance(caught.value, errors.NoAnswerError)
    assert "ReadTimeout" in str(caught.value)
    assert diagnostics.failure_detail(caught.value, "de") == "keine Antwort"
    assert diagnostics.failure_detail(caught.value, "en") == "no answer"


def test_without_the_deadline_every_attempt_is_made(silent_server: str) -> None:
    client = _transport(read_timeout=0.05)  # five timeouts of 0.05 s stay within 20 s

    with pytest.raises(errors.TransportError):
        client.send("getReport", "GET", silent_server, log_path="/reports")

    assert client.calls["getReport"] == 5


def test_a_sync_that_cannot_reach_amazon_says_so_in_the_sellers_words(
    simulator: Simulator, refhost: ReferenceHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    account = simulator_account(simulator)
    refhost.store.add_account(
        dataclasses.replace(
            account, name="weg", id="weg", endpoint=f"http://127.0.0.1:{closed.getsockname()[1]}"
        )
    )
    refhost.store.add_account(account)
    try:
        refused = refhost.sync("weg", locale="de")
    finally:
        closed.close()

    assert (refused.ok, refused.code) == (False, "sync.unavailable")
    assert "Amazon ist vorübergehend nicht erreichbar (keine Verbindung)" in refused.message
    assert "Connection" not in refused.message

    add_fault(simulator, "unavailable", count=None)  # persistent
    failed = refhost.sync(account.name, locale="en")
    assert (failed.ok, failed.code) == (False, "sync.unavailable")
    assert "(error 503 at Amazon)" in failed.message
