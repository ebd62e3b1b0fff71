"""Hostile report documents: gzip bombs and endless lines end with a clear error, never quoted.

Security review finding 16 (a quadratic line splitter) and reliability break 9 (a 221 KB
download that unpacks to 200 MB, a 1 MB download with a 1 GB line).
"""

from __future__ import annotations

import gzip
import time
import zlib

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from hyreka_plugin_amazon.spapi.documents import MAX_LINE_CHARS, DocumentStream, _LineSplitter
from hyreka_plugin_amazon.spapi.errors import DocumentTooLargeError
from hyreka_plugin_amazon.spapi.models import ReportDocument
from hyreka_plugin_amazon.spapi.transport import Transport


def stream(
    httpserver: HTTPServer,
    body: bytes,
    *,
    max_line_chars: int = MAX_LINE_CHARS,
    max_decompressed_bytes: int = 1024**3,
) -> DocumentStream:
    httpserver.expect_request("/doc").respond_with_response(
        Response(body, content_type="text/plain; charset=UTF-8")
    )
    transport = Transport(
        session=requests.Session(),
        timeout=(5.0, 30.0),
        sleep=time.sleep,
        monotonic=time.monotonic,
        max_attempts=1,
        max_wait=1.0,
        user_agent="test",
    )
    document = ReportDocument("amzn1.spdoc.1.4.eu.BOMB", httpserver.url_for("/doc"), "GZIP")
    return DocumentStream(
        transport=transport,
        fetch=lambda: document,
        max_line_chars=max_line_chars,
        max_decompressed_bytes=max_decompressed_bytes,
    )


def bomb(size: int, fill: bytes) -> bytes:
    """``size`` bytes of ``fill`` gzipped in a stream (never held whole in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = fill * (1024 * 1024 // len(fill))
    parts = [packer.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*parts, packer.flush()])


def test_a_gzip_bomb_stops_at_the_decompressed_limit(httpserver: HTTPServer) -> None:
    body = bomb(64 * 1024 * 1024, b"a\tb\tc\n")  # 64 MB of text in ~64 KB
    assert len(body) < 200_000
    with (
        pytest.raises(DocumentTooLargeError, match="unpacks to more than") as caught,
        stream(httpserver, body, max_decompressed_bytes=8 * 1024 * 1024) as lines,
    ):
        for _ in lines:
            pass
    assert "a\tb" not in str(caught.value)
    assert not caught.value.retryable


def test_an_endless_line_stops_at_the_line_limit_without_quoting_it(
    httpserver: HTTPServer,
) -> None:
    body = gzip.compress(b"order-id\tproduct-name\n1\t" + b"Q" * 3_000_000 + b"\n")
    with (
        pytest.raises(DocumentTooLargeError, match="line 2 ") as caught,
        stream(httpserver, body, max_line_chars=1_000_000) as lines,
    ):
        for _ in lines:
            pass
    assert "QQQ" not in str(caught.value)


def test_lines_within_the_limit_come_through_whole(httpserver: HTTPServer) -> None:
    text = "order-id\tproduct-name\n1\t" + "Ü" * 900_000 + "\n2\tx"
    with stream(httpserver, gzip.compress(text.encode())) as lines:
        assert [len(line) for line in lines] == [22, 900_003, 3]


def test_the_line_splitter_is_linear_in_a_lines_length() -> None:
    """A 16 MB line fed in 64 KB pieces: the work done is counted, not timed.

    The splitter is fed piece by piece; a quadratic splitter copies the whole partial line for
    every piece. Counted here: the characters the splitter holds in total across the pieces
    (its list of pieces), which must equal the line once, not the sum of its prefixes.
    """
    splitter = _LineSplitter(max_chars=32 * 1024 * 1024)
    piece = "x" * 65536
    for _ in range(256):
        assert splitter.feed(piece) == []
    held = sum(len(p) for p in splitter._pieces)
    assert held == 256 * 65536
    lines = splitter.feed("\n")
    assert [len(line) for line in lines] == [256 * 65536 + 1]
    assert splitter._pieces == []
    assert MAX_LINE_CHARS < 16 * 1024 * 1024  # a 16 MB line would be refused in production
