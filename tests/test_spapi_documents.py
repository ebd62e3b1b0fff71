"""Report document downloads: gzip layers, truncation, charsets, expired URLs, RDT hygiene."""

from __future__ import annotations

import gzip
import json
import logging
import random
from collections.abc import Callable

import pytest
from helpers.shared import REAL_REPORTS, require
from helpers.spapi_fake import ACCESS_TOKEN, Seller, expect_token, free_port, make_seller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hyreka_plugin_amazon.spapi import (
    DocumentDecodeError,
    DocumentError,
    DocumentExpiredError,
    DocumentTruncatedError,
    ServerError,
    TransportError,
    documents,
)
from hyreka_plugin_amazon.spapi.documents import SNIFF_SIZE

DOC_ID = "amzn1.spdoc.1.4.eu.T1"
DOC_PATH = f"/reports/2021-06-30/documents/{DOC_ID}"
DOWNLOAD = "/s3/doc-1"
SIGNATURE = "X-Amz-Signature=made-up-signature-0123456789"

ORDERS_TEXT = (
    "order-id\tbuyer-name\tship-city\r\n"
    "302-1234567-1234567\tJürgen Groß\tMünchen\r\n"
    "302-7654321-7654321\tFrançoise Lefèvre\tSaint-Étienne\r\n"
)


def document_json(url: str, compression: str | None) -> dict[str, str]:
    body = {"reportDocumentId": DOC_ID, "url": url}
    if compression:
        body["compressionAlgorithm"] = compression
    return body


def serve_document(
    httpserver: HTTPServer,
    body: bytes,
    *,
    compression: str | None = "GZIP",
    content_type: str = "text/plain; charset=UTF-8",
    headers: dict[str, str] | None = None,
) -> None:
    """getReportDocument pointing at a pre-signed-looking URL that serves ``body``."""
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, compression))
    httpserver.expect_request(DOWNLOAD).respond_with_response(
        Response(body, headers=headers or {}, content_type=content_type)
    )


def read_all(
    seller: Seller, *, restricted: bool = False, on_bytes: Callable[[int], None] | None = None
) -> list[str]:
    with seller.client.open_document(DOC_ID, restricted=restricted, on_bytes=on_bytes) as stream:
        return list(stream)


def downloads(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path.startswith("/s3/")]


def big_text(lines: int) -> str:
    """Tab-separated lines of random hex: compresses only about 2:1, so gzip stays large."""
    rng = random.Random(7)
    return "".join(f"{n}\t{rng.getrandbits(256):064x}\tBerlin\n" for n in range(lines))


# ------------------------------------------------------------------------------ plain / gzip


def test_plain_utf8_document_keeps_line_endings_and_drops_the_bom(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(httpserver, b"\xef\xbb\xbf" + ORDERS_TEXT.encode(), compression=None)
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        lines = list(stream)
        assert stream.charset == "utf-8"
    assert lines == ORDERS_TEXT.splitlines(keepends=True)
    assert lines[0].startswith("order-id")


def test_gzip_cp1252_document_reports_progress(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    body = gzip.compress(ORDERS_TEXT.replace("\r\n", "\n").encode("cp1252"))
    serve_document(httpserver, body, content_type="text/plain; charset=Cp1252")
    seller = make_seller(httpserver)
    progress: list[int] = []
    with seller.client.open_document(DOC_ID, restricted=False, on_bytes=progress.append) as stream:
        lines = list(stream)
        assert stream.charset == "cp1252"
        assert stream.bytes_downloaded == len(body)
    assert sum(progress) == len(body)
    assert lines[1] == "302-1234567-1234567\tJürgen Groß\tMünchen\n"
    assert len(lines) == 3


def test_shift_jis_is_read_as_cp932(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    text = "order-id\tbuyer-name\n503-0000000-0000001\t山田 太郎\n"
    serve_document(
        httpserver,
        gzip.compress(text.encode("cp932")),
        content_type="text/plain; charset=Shift_JIS",
    )
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert list(stream) == text.splitlines(keepends=True)
        assert stream.charset == "cp932"


def test_content_encoding_gzip_is_not_gunzipped_twice(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(
        httpserver, gzip.compress(ORDERS_TEXT.encode()), headers={"Content-Encoding": "gzip"}
    )
    assert read_all(make_seller(httpserver)) == ORDERS_TEXT.splitlines(keepends=True)


def test_document_gzipped_twice_is_unwrapped_fully(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    twice = gzip.compress(gzip.compress(ORDERS_TEXT.encode()))
    serve_document(httpserver, twice, headers={"Content-Encoding": "gzip"})
    assert read_all(make_seller(httpserver)) == ORDERS_TEXT.splitlines(keepends=True)


def test_multi_member_gzip_is_read_to_the_end(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    head, tail = ORDERS_TEXT[:40].encode(), ORDERS_TEXT[40:].encode()
    serve_document(httpserver, gzip.compress(head) + gzip.compress(tail))
    assert "".join(read_all(make_seller(httpserver))) == ORDERS_TEXT


def test_declared_gzip_that_is_not_gzip_is_refused(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(httpserver, ORDERS_TEXT.encode(), compression="GZIP")
    with pytest.raises(DocumentDecodeError, match="not gzip"):
        read_all(make_seller(httpserver))


def test_large_document_streams_in_chunks(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    text = big_text(20_000)  # ~1.6 MB of text
    body = gzip.compress(text.encode())
    serve_document(httpserver, body)
    seller = make_seller(httpserver)
    progress: list[int] = []
    lines = read_all(seller, on_bytes=progress.append)
    assert lines == text.splitlines(keepends=True)
    assert len(progress) > 5  # arrived (and was reported) piece by piece
    assert sum(progress) == len(body)


# ------------------------------------------------------------------------------------ replay


@pytest.mark.parametrize(
    ("body", "content_type", "compression"),
    [
        (
            gzip.compress(b"\xef\xbb\xbf" + ORDERS_TEXT.encode()),
            "text/plain; charset=UTF-8",
            "GZIP",
        ),
        (
            gzip.compress(ORDERS_TEXT.replace("\r\n", "\n").encode("cp1252") + b"\x80 tail"),
            "text/plain; charset=Cp1252",
            "GZIP",
        ),
        (gzip.compress(gzip.compress(big_text(20_000).encode())), "text/plain", "GZIP"),
        (b"\xef\xbb\xbf" + ORDERS_TEXT.encode(), "text/plain", None),
        (b"ab", "text/plain", None),  # shorter than a BOM, no line end
    ],
    ids=["gzip-utf8-bom", "gzip-cp1252-euro-unterminated", "gzip-twice-large", "plain", "tiny"],
)
def test_a_kept_download_replays_the_lines_it_yielded(
    httpserver: HTTPServer, body: bytes, content_type: str, compression: str | None
) -> None:
    expect_token(httpserver)
    serve_document(httpserver, body, compression=compression, content_type=content_type)
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert stream.replayable
        with pytest.raises(RuntimeError):
            stream.replay()  # not read to its end yet
        first = list(stream)
        assert list(stream.replay()) == first
        assert list(stream.replay()) == first  # as often as asked
    assert not stream.replayable  # the kept download went with the stream
    assert len(downloads(httpserver)) == 1  # from memory, not downloaded again
    assert first[-1].endswith(("tail", "\n", "ab"))


def test_a_download_over_the_replay_limit_or_of_unknown_size_is_not_kept(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "REPLAY_MAX_BYTES", 100)
    expect_token(httpserver)
    body = gzip.compress(big_text(100).encode())
    serve_document(httpserver, body)
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert not stream.replayable
        assert len(list(stream)) == 100
        with pytest.raises(RuntimeError):
            stream.replay()


def test_a_chunked_download_is_not_kept(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, "GZIP"))
    body = gzip.compress(ORDERS_TEXT.encode())
    pieces = (body[n : n + 10] for n in range(0, len(body), 10))
    httpserver.expect_request(DOWNLOAD).respond_with_response(
        Response(pieces, content_type="text/plain; charset=UTF-8")  # no Content-Length
    )
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert stream.size is None
        assert not stream.replayable
        assert list(stream) == ORDERS_TEXT.splitlines(keepends=True)


# -------------------------------------------------------------------------------- truncation


def cut_gzip(text: str, keep: float) -> bytes:
    whole = gzip.compress(text.encode())
    return whole[: int(len(whole) * keep)]


def test_truncated_gzip_raises_and_a_fresh_open_reads_it_whole(httpserver: HTTPServer) -> None:
    # the stream never restarts a download; the caller (the sync) opens the document again
    expect_token(httpserver)
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, "GZIP"))
    httpserver.expect_oneshot_request(DOWNLOAD).respond_with_data(cut_gzip(ORDERS_TEXT, 0.6))
    httpserver.expect_request(DOWNLOAD).respond_with_data(gzip.compress(ORDERS_TEXT.encode()))
    seller = make_seller(httpserver)
    with pytest.raises(DocumentTruncatedError) as caught:
        read_all(seller)
    assert caught.value.retryable
    assert seller.client.calls["download"] == 1
    assert read_all(seller) == ORDERS_TEXT.splitlines(keepends=True)
    assert seller.client.calls["download"] == 2
    assert seller.client.calls["getReportDocument"] == 2  # a fresh URL for the second read


def test_truncated_gzip_raises_before_any_line_without_a_second_download(
    httpserver: HTTPServer,
) -> None:
    expect_token(httpserver)
    serve_document(httpserver, cut_gzip(ORDERS_TEXT, 0.6))
    seller = make_seller(httpserver)
    with pytest.raises(DocumentTruncatedError) as caught:
        seller.client.open_document(DOC_ID, restricted=False)
    assert caught.value.retryable
    assert seller.client.calls["download"] == 1


def test_truncation_after_lines_were_read_ends_the_iteration(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    text = big_text(10_000)
    serve_document(httpserver, cut_gzip(text, 0.7))
    seller = make_seller(httpserver)
    got: list[str] = []
    with (
        pytest.raises(DocumentTruncatedError),
        seller.client.open_document(DOC_ID, restricted=False) as stream,
    ):
        got.extend(stream)
    whole = text.splitlines(keepends=True)
    assert len(got) > SNIFF_SIZE // 100
    assert got == whole[: len(got)]  # complete lines only: the cut-off line is not handed out
    assert seller.client.calls["download"] == 1  # no restart once lines were handed out


def test_short_body_against_content_length_is_truncation(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, None))
    body = ORDERS_TEXT.encode()

    def short(_: Request) -> Response:
        return Response(
            iter([body]),
            headers={"Content-Length": str(len(body) + 100)},
            content_type="text/plain; charset=UTF-8",
        )

    httpserver.expect_request(DOWNLOAD).respond_with_handler(short)
    seller = make_seller(httpserver)
    with pytest.raises(DocumentTruncatedError, match="broke off"):
        read_all(seller)
    assert seller.client.calls["download"] == 1


# ---------------------------------------------------------------------------------- charsets


def test_missing_charset_reads_utf8(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(httpserver, gzip.compress(ORDERS_TEXT.encode()), content_type="text/plain")
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert list(stream) == ORDERS_TEXT.splitlines(keepends=True)
        assert stream.charset == "utf-8"


def test_missing_charset_falls_back_to_cp1252(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(
        httpserver, gzip.compress(ORDERS_TEXT.encode("cp1252")), content_type="text/plain"
    )
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        assert list(stream) == ORDERS_TEXT.splitlines(keepends=True)
        assert stream.charset == "cp1252"


def test_wrong_declared_charset_is_an_error_not_mojibake(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(httpserver, gzip.compress(ORDERS_TEXT.encode("cp1252")))
    with pytest.raises(DocumentDecodeError, match="not valid utf-8") as caught:
        read_all(make_seller(httpserver))
    assert "Groß" not in str(caught.value)
    assert "Gro" not in str(caught.value)


def test_undecodable_byte_after_the_sniffed_head_stops_the_stream(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    head = big_text(2_000)  # ASCII, longer than the sniffed head
    assert len(head) > SNIFF_SIZE
    body = head.encode() + "302-1\tJürgen\n".encode("cp1252")
    serve_document(httpserver, gzip.compress(body), content_type="text/plain")
    got: list[str] = []
    with pytest.raises(DocumentDecodeError, match=f"line {2_001}"):
        got.extend(read_all(make_seller(httpserver)))
    assert all("J" not in line for line in got)


# ------------------------------------------------------------------ expired URLs, restricted


def test_expired_url_fetches_a_fresh_one(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    old = f"{httpserver.url_for('/s3/old')}?{SIGNATURE}"
    new = f"{httpserver.url_for('/s3/new')}?{SIGNATURE}"
    httpserver.expect_oneshot_request(DOC_PATH).respond_with_json(document_json(old, "GZIP"))
    httpserver.expect_oneshot_request(DOC_PATH).respond_with_json(document_json(new, "GZIP"))
    httpserver.expect_request("/s3/old").respond_with_data(
        "<Error>AccessDenied</Error>", status=403
    )
    httpserver.expect_request("/s3/new").respond_with_data(gzip.compress(ORDERS_TEXT.encode()))
    seller = make_seller(httpserver)
    assert read_all(seller) == ORDERS_TEXT.splitlines(keepends=True)
    assert seller.client.calls["getReportDocument"] == 2
    assert [r.path for r in downloads(httpserver)] == ["/s3/old", "/s3/new"]


def test_url_refused_twice_is_expired(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, "GZIP"))
    httpserver.expect_request(DOWNLOAD).respond_with_data("<Error>AccessDenied</Error>", status=403)
    seller = make_seller(httpserver)
    with pytest.raises(DocumentExpiredError):
        read_all(seller)
    assert seller.client.calls["getReportDocument"] == 2


def test_restricted_document_uses_an_rdt_and_the_download_carries_no_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rdt = "Atz.sprdt|made-up-restricted-data-token"
    expect_token(httpserver)
    httpserver.expect_request(
        "/tokens/2021-03-01/restrictedDataToken", method="POST"
    ).respond_with_json({"restrictedDataToken": rdt, "expiresIn": 3600})
    serve_document(httpserver, gzip.compress(ORDERS_TEXT.encode()))
    seller = make_seller(httpserver)
    assert read_all(seller, restricted=True) == ORDERS_TEXT.splitlines(keepends=True)

    (rdt_request,) = [r for r, _ in httpserver.log if r.path.startswith("/tokens/")]
    assert rdt_request.headers["x-amz-access-token"] == ACCESS_TOKEN
    assert json.loads(rdt_request.get_data()) == {
        "restrictedResources": [{"method": "GET", "path": DOC_PATH}]
    }
    (document_request,) = [r for r, _ in httpserver.log if r.path == DOC_PATH]
    assert document_request.headers["x-amz-access-token"] == rdt
    (download,) = downloads(httpserver)
    assert "x-amz-access-token" not in download.headers
    assert "Authorization" not in download.headers
    assert SIGNATURE.split("=")[1] in download.query_string.decode()

    ours = [r for r in caplog.records if r.name.startswith("hyreka_plugin_amazon")]
    assert any("download" in r.getMessage() for r in ours)
    for record in ours:
        message = record.getMessage()
        for secret in (rdt, ACCESS_TOKEN, SIGNATURE, "/s3/", *seller.secrets):
            assert secret not in message


def test_download_host_failing_is_retried_then_a_server_error(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    url = f"{httpserver.url_for(DOWNLOAD)}?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(url, "GZIP"))
    httpserver.expect_request(DOWNLOAD).respond_with_data(
        f"<Error><CanonicalRequest>{SIGNATURE}</CanonicalRequest></Error>", status=503
    )
    seller = make_seller(httpserver, max_attempts=3)
    with pytest.raises(ServerError) as caught:
        read_all(seller)
    assert caught.value.status == 503
    assert SIGNATURE not in str(caught.value)
    assert seller.client.calls["download"] == 3


def test_unreachable_download_host_hides_the_url(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    dead = f"http://127.0.0.1:{free_port()}/s3/doc?{SIGNATURE}"
    httpserver.expect_request(DOC_PATH).respond_with_json(document_json(dead, "GZIP"))
    seller = make_seller(httpserver, max_attempts=2)
    with pytest.raises(TransportError) as caught:
        read_all(seller)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert SIGNATURE not in str(caught.value)
    assert seller.client.calls["download"] == 2


def test_plain_http_download_url_off_loopback_is_refused(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DOC_PATH).respond_with_json(
        document_json("http://example.com/doc?sig=1", "GZIP")
    )
    with pytest.raises(DocumentError, match="https") as caught:
        read_all(make_seller(httpserver))
    assert "sig=1" not in str(caught.value)


def test_report_document_repr_hides_the_url(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_document(httpserver, b"")
    document = make_seller(httpserver).client.get_report_document(DOC_ID, restricted=False)
    assert document.url.endswith(SIGNATURE)
    assert SIGNATURE not in repr(document)


# -------------------------------------------------------------------------- real report files


def real_report(name: str) -> bytes:
    path = require(REAL_REPORTS / name)
    return path.read_bytes()


def test_real_latin1_order_report_without_charset(httpserver: HTTPServer) -> None:
    raw = real_report("fr-orders-akretion-1.txt")
    expect_token(httpserver)
    serve_document(httpserver, gzip.compress(raw), content_type="text/plain")
    seller = make_seller(httpserver)
    with seller.client.open_document(DOC_ID, restricted=False) as stream:
        lines = list(stream)
        assert stream.charset == "cp1252"
    assert lines == raw.decode("cp1252").splitlines(keepends=True)
    assert any("Orléans" in line for line in lines)


def test_real_all_orders_report_streams_unchanged(httpserver: HTTPServer) -> None:
    raw = real_report("eu-allorders-nbneorigin-2.txt")
    expect_token(httpserver)
    serve_document(httpserver, gzip.compress(raw), content_type="text/plain; charset=utf8")
    with make_seller(httpserver).client.open_document(DOC_ID, restricted=False) as stream:
        lines = list(stream)
        assert stream.charset == "utf-8"
    assert lines == raw.decode("utf-8").splitlines(keepends=True)
