"""SP-API client transport: LWA tokens, retries, timeouts, rate limits, errors, hygiene."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qs

import pytest
import requests
from helpers.spapi_fake import (
    CLIENT_ID,
    TOKEN_PATH,
    CannedAmazon,
    FakeClock,
    expect_token,
    free_port,
    make_seller,
    token_requests,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi import (
    AccessDeniedError,
    AuthenticationError,
    BadRequestError,
    InvalidClientError,
    InvalidGrantError,
    NotFoundError,
    ServerError,
    SpApiClient,
    ThrottledError,
    TransportError,
)
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter, TokenBucket, UsagePlan
from hyreka_plugin_amazon.spapi.transport import BACKOFF_BASE, RATE_LIMIT_MARGIN

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
REPORT = "/reports/2021-06-30/reports/R1"
CREATE = "/reports/2021-06-30/reports"
REPORT_JSON = {
    "reportId": "R1",
    "reportType": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "processingStatus": "IN_PROGRESS",
    "createdTime": "2026-11-20T10:00:00Z",
}
PARTICIPATION_JSON = {
    "payload": [
        {
            "marketplace": {
                "id": "A1PA6795UKMFR9",
                "name": "Amazon.de",
                "countryCode": "DE",
                "defaultCurrencyCode": "EUR",
                "defaultLanguageCode": "de_DE",
                "domainName": "www.amazon.de",
            },
            "storeName": "Musterladen",
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
        }
    ]
}


def amazon_errors(code: str, message: str, status: int, request_id: str = "rid-1") -> Response:
    body = {"errors": [{"code": code, "message": message, "details": ""}]}
    return Response(
        json.dumps(body),
        status=status,
        headers={"x-amzn-RequestId": request_id},
        content_type="application/json",
    )


# ------------------------------------------------------------------------------------- LWA


def test_one_token_exchange_serves_many_calls_and_clients(httpserver: HTTPServer) -> None:
    expect_token(httpserver, "Atza|first")
    httpserver.expect_request(PARTICIPATIONS).respond_with_json(PARTICIPATION_JSON)
    seller = make_seller(httpserver)
    for _ in range(3):
        participations = seller.client.get_marketplace_participations()
    twin = make_seller(httpserver, refresh_token=seller.refresh_token)
    twin.client.get_marketplace_participations()

    assert token_requests(httpserver) == 1
    assert seller.client.calls == {"lwaToken": 1, "getMarketplaceParticipations": 3}
    assert twin.client.calls == {"getMarketplaceParticipations": 1}
    (exchange, _) = httpserver.log[0]
    assert exchange.content_type.startswith("application/x-www-form-urlencoded")
    form = parse_qs(exchange.get_data(as_text=True))
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": [seller.refresh_token],
        "client_id": [CLIENT_ID],
        "client_secret": [seller.client_secret],
    }
    assert all(r.headers["x-amz-access-token"] == "Atza|first" for r, _ in httpserver.log[1:])
    de = participations[0]
    assert (de.marketplace_id, de.country_code, de.currency, de.domain) == (
        "A1PA6795UKMFR9",
        "DE",
        "EUR",
        "www.amazon.de",
    )
    assert de.is_participating
    assert not de.has_suspended_listings


def test_token_is_exchanged_again_a_minute_before_it_expires(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(PARTICIPATIONS).respond_with_json(PARTICIPATION_JSON)
    seller = make_seller(httpserver)
    seller.client.get_marketplace_participations()
    seller.clock.now += 3600 - 61
    seller.client.get_marketplace_participations()
    assert token_requests(httpserver) == 1
    seller.clock.now += 2
    seller.client.get_marketplace_participations()
    assert token_requests(httpserver) == 2


@pytest.mark.parametrize(
    ("status", "error", "description", "kind"),
    [
        (401, "invalid_client", "Client authentication failed", InvalidClientError),
        (
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
            InvalidGrantError,
        ),
        (400, "invalid_request", "Missing parameter", AuthenticationError),
    ],
)
def test_lwa_errors_are_typed_with_amazons_description(
    httpserver: HTTPServer, status: int, error: str, description: str, kind: type[Exception]
) -> None:
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json(
        {"error": error, "error_description": description}, status=status
    )
    seller = make_seller(httpserver)
    with pytest.raises(kind) as caught:
        seller.client.get_marketplace_participations()
    exc = caught.value
    assert isinstance(exc, AuthenticationError)
    assert type(exc) is kind
    assert (exc.operation, exc.status, exc.code) == ("lwaToken", status, error)
    assert description in str(exc)
    for secret in seller.secrets:
        assert secret not in str(exc)
        assert secret not in repr(exc)
    assert seller.client.calls == {"lwaToken": 1}  # a refusal is final, not retried


def test_invalid_client_message_mentions_secret_rotation(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TOKEN_PATH).respond_with_json(
        {"error": "invalid_client", "error_description": "Client authentication failed"},
        status=401,
    )
    with pytest.raises(InvalidClientError, match="180 days"):
        make_seller(httpserver).client.get_marketplace_participations()


def test_lwa_outage_is_retried_then_a_server_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TOKEN_PATH).respond_with_data("down", status=503)
    seller = make_seller(httpserver, max_attempts=3)
    with pytest.raises(ServerError) as caught:
        seller.client.get_marketplace_participations()
    assert caught.value.operation == "lwaToken"
    assert caught.value.retryable
    assert seller.client.calls == {"lwaToken": 3}


# ---------------------------------------------------------------------- 403 and token refresh


def test_403_unauthorized_refreshes_the_token_and_repeats_once(httpserver: HTTPServer) -> None:
    tokens = iter(["Atza|old", "Atza|new"])
    httpserver.expect_request(TOKEN_PATH).respond_with_handler(
        lambda _: Response(
            json.dumps({"access_token": next(tokens), "expires_in": 3600}),
            content_type="application/json",
        )
    )
    httpserver.expect_request(
        REPORT, headers={"x-amz-access-token": "Atza|old"}
    ).respond_with_response(
        amazon_errors("Unauthorized", "Access to requested resource is denied.", 403)
    )
    httpserver.expect_request(REPORT, headers={"x-amz-access-token": "Atza|new"}).respond_with_json(
        REPORT_JSON
    )
    seller = make_seller(httpserver)
    assert seller.client.get_report("R1").processing_status == "IN_PROGRESS"
    assert seller.client.calls == {"lwaToken": 2, "getReport": 2}


def test_403_twice_is_access_denied(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(PARTICIPATIONS).respond_with_response(
        amazon_errors("Unauthorized", "Access to requested resource is denied.", 403, "rid-403")
    )
    seller = make_seller(httpserver)
    with pytest.raises(AccessDeniedError) as caught:
        seller.client.get_marketplace_participations()
    exc = caught.value
    assert (exc.status, exc.code, exc.request_id, exc.retryable) == (
        403,
        "Unauthorized",
        "rid-403",
        False,
    )
    assert "rid-403" in str(exc)
    assert "region" in str(exc)
    assert seller.client.calls == {"lwaToken": 2, "getMarketplaceParticipations": 2}


def test_missing_authentication_token_is_not_refreshed(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(PARTICIPATIONS).respond_with_response(
        Response(
            json.dumps({"message": "Missing Authentication Token"}),
            status=403,
            headers={"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
        )
    )
    seller = make_seller(httpserver)
    with pytest.raises(AccessDeniedError) as caught:
        seller.client.get_marketplace_participations()
    assert caught.value.code == "MissingAuthenticationTokenException"
    assert seller.client.calls == {"lwaToken": 1, "getMarketplaceParticipations": 1}


# ----------------------------------------------------------------------------------- retries


def test_429_is_retried_with_jittered_exponential_backoff(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    throttled = amazon_errors("QuotaExceeded", "You exceeded your quota.", 429)
    for _ in range(3):
        httpserver.expect_oneshot_request(REPORT).respond_with_response(throttled)
    httpserver.expect_oneshot_request(REPORT).respond_with_json(REPORT_JSON)
    seller = make_seller(httpserver)
    assert seller.client.get_report("R1").report_id == "R1"
    sleeps = seller.clock.sleeps
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, start=1):
        assert 0.0 <= slept <= BACKOFF_BASE * 2 ** (attempt - 1)
    assert seller.client.calls["getReport"] == 4


def test_jitter_actually_varies(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORT).respond_with_response(
        amazon_errors("QuotaExceeded", "You exceeded your quota.", 429)
    )
    seller = make_seller(httpserver, max_attempts=12)
    with pytest.raises(ThrottledError):
        seller.client.get_report("R1")
    assert len(set(seller.clock.sleeps)) == 11


def test_retry_after_is_honoured(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    busy = amazon_errors("QuotaExceeded", "You exceeded your quota.", 429)
    busy.headers["Retry-After"] = "7"
    httpserver.expect_oneshot_request(REPORT).respond_with_response(busy)
    httpserver.expect_oneshot_request(REPORT).respond_with_json(REPORT_JSON)
    seller = make_seller(httpserver)
    seller.client.get_report("R1")
    assert seller.clock.sleeps == [7.0]


def test_retry_after_beyond_the_wait_limit_gives_up_at_once(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    busy = amazon_errors("QuotaExceeded", "You exceeded your quota.", 429, "rid-busy")
    busy.headers["Retry-After"] = "3600"
    httpserver.expect_request(REPORT).respond_with_response(busy)
    seller = make_seller(httpserver)
    with pytest.raises(ThrottledError) as caught:
        seller.client.get_report("R1")
    assert caught.value.request_id == "rid-busy"
    assert seller.clock.sleeps == []
    assert seller.client.calls["getReport"] == 1


def test_persistent_429_becomes_throttled_error(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORT).respond_with_response(
        amazon_errors("QuotaExceeded", "You exceeded your quota.", 429, "rid-429")
    )
    seller = make_seller(httpserver)
    with pytest.raises(ThrottledError) as caught:
        seller.client.get_report("R1")
    exc = caught.value
    assert (exc.status, exc.code, exc.request_id, exc.retryable) == (
        429,
        "QuotaExceeded",
        "rid-429",
        True,
    )
    assert seller.client.calls["getReport"] == 5
    assert len(seller.clock.sleeps) == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_raised(httpserver: HTTPServer, status: int) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORT).respond_with_response(
        amazon_errors("InternalFailure", "We encountered an internal error.", status)
    )
    seller = make_seller(httpserver, max_attempts=3)
    with pytest.raises(ServerError) as caught:
        seller.client.get_report("R1")
    assert caught.value.status == status
    assert seller.client.calls["getReport"] == 3


def test_a_passing_500_is_invisible(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_oneshot_request(REPORT).respond_with_data("", status=500)
    httpserver.expect_oneshot_request(REPORT).respond_with_json(REPORT_JSON)
    assert make_seller(httpserver).client.get_report("R1").report_id == "R1"


def test_client_errors_are_typed_and_not_retried(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORT).respond_with_response(
        amazon_errors("NotFound", "Report not found", 404)
    )
    httpserver.expect_request(CREATE, method="POST").respond_with_response(
        amazon_errors("InvalidInput", "Invalid Input: reportType", 400, "rid-400")
    )
    seller = make_seller(httpserver)
    with pytest.raises(NotFoundError):
        seller.client.get_report("R1")
    with pytest.raises(BadRequestError) as caught:
        seller.client.create_report("NO_SUCH_REPORT", ["A1PA6795UKMFR9"])
    assert caught.value.code == "InvalidInput"
    assert "Invalid Input: reportType" in str(caught.value)
    assert seller.client.calls == {"lwaToken": 1, "getReport": 1, "createReport": 1}


class SlowFirstAnswer:
    """Answers ``body``, the first time only after ``delay`` s; ``done`` is set after that.

    The test server handles one request at a time, so a client that retries must wait for
    ``done`` before its next attempt can be served.
    """

    def __init__(self, delay: float, body: Mapping[str, object], status: int = 200) -> None:
        self.delay, self.body, self.status = delay, body, status
        self.done = threading.Event()

    def __call__(self, request: Request) -> Response:
        if not self.done.is_set():
            time.sleep(self.delay)
            self.done.set()
        return Response(json.dumps(self.body), status=self.status, content_type="application/json")


def test_read_timeout_is_retried_for_a_get(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    slow = SlowFirstAnswer(0.3, REPORT_JSON)
    httpserver.expect_request(REPORT).respond_with_handler(slow)
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        slow.done.wait(2.0)

    seller = make_seller(httpserver, clock=clock, sleep=sleep, timeout=(2.0, 0.1))
    assert seller.client.get_report("R1").report_id == "R1"
    assert seller.client.calls["getReport"] == 2
    assert len(clock.sleeps) == 1


def test_create_report_is_not_repeated_after_a_read_timeout(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    slow = SlowFirstAnswer(0.3, {"reportId": "R1"}, status=202)
    httpserver.expect_request(CREATE, method="POST").respond_with_handler(slow)
    seller = make_seller(httpserver, timeout=(2.0, 0.1))
    with pytest.raises(TransportError, match="not repeated") as caught:
        seller.client.create_report("GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", ["A1PA6795UKMFR9"])
    assert caught.value.operation == "createReport"
    assert caught.value.retryable
    assert slow.done.wait(2.0)
    deadline = time.monotonic() + 2.0  # the server logs the request once it has answered
    while not any(r.path == CREATE for r, _ in httpserver.log) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.path for r, _ in httpserver.log].count(CREATE) == 1
    assert seller.client.calls["createReport"] == 1
    assert seller.clock.sleeps == []


@pytest.mark.parametrize("status", [429, 503])
def test_create_report_is_retried_when_amazon_refused_it(
    httpserver: HTTPServer, status: int
) -> None:
    expect_token(httpserver)
    httpserver.expect_oneshot_request(CREATE, method="POST").respond_with_data("", status=status)
    httpserver.expect_oneshot_request(CREATE, method="POST").respond_with_json(
        {"reportId": "R9"}, status=202
    )
    seller = make_seller(httpserver)
    assert seller.client.create_report("GET_X", ["A1PA6795UKMFR9"]) == "R9"
    assert seller.client.calls["createReport"] == 2


def test_create_report_is_not_retried_after_a_500(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(CREATE, method="POST").respond_with_response(
        amazon_errors("InternalFailure", "We encountered an internal error.", 500)
    )
    seller = make_seller(httpserver)
    with pytest.raises(ServerError):
        seller.client.create_report("GET_X", ["A1PA6795UKMFR9"])
    assert seller.client.calls["createReport"] == 1


def test_refused_connections_are_retried_then_a_transport_error(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    seller = make_seller(httpserver, endpoint=f"http://127.0.0.1:{free_port()}", max_attempts=3)
    with pytest.raises(TransportError) as caught:
        seller.client.create_report("GET_X", ["A1PA6795UKMFR9"])  # never sent: safe to retry
    assert "Connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert seller.client.calls["createReport"] == 3
    assert len(seller.clock.sleeps) == 2


# ------------------------------------------------------------------------------- rate limits


def test_token_bucket_books_tokens_and_refuses_long_waits() -> None:
    bucket = TokenBucket(UsagePlan(rate=2.0, burst=2), now=0.0)
    assert bucket.reserve(0.0, max_wait=60) == 0.0
    assert bucket.reserve(0.0, max_wait=60) == 0.0
    assert bucket.reserve(0.0, max_wait=60) == pytest.approx(0.5)
    assert bucket.reserve(0.0, max_wait=60) == pytest.approx(1.0)  # queued behind the last
    assert bucket.reserve(0.0, max_wait=0.9) is None  # would be 1.5 s: nothing booked
    assert bucket.reserve(1.0, max_wait=60) == pytest.approx(0.5)
    assert bucket.reserve(100.0, max_wait=60) == 0.0  # refilled, capped at burst


def test_bucket_waits_after_the_burst_and_follows_the_rate_header(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    response = Response(json.dumps(REPORT_JSON), content_type="application/json")
    response.headers["x-amzn-RateLimit-Limit"] = "0.1"
    httpserver.expect_request(REPORT).respond_with_response(response)
    seller = make_seller(httpserver)
    for _ in range(15):  # getReport: burst 15
        seller.client.get_report("R1")
    assert seller.clock.sleeps == []
    seller.client.get_report("R1")
    assert seller.clock.sleeps == [pytest.approx(10.0 + RATE_LIMIT_MARGIN)]  # 1 / 0.1 rps


def test_garbage_rate_header_is_ignored(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    response = Response(json.dumps(REPORT_JSON), content_type="application/json")
    response.headers["x-amzn-RateLimit-Limit"] = "lots"
    httpserver.expect_request(REPORT).respond_with_response(response)
    seller = make_seller(httpserver)
    for _ in range(16):
        seller.client.get_report("R1")
    assert seller.clock.sleeps == [pytest.approx(0.5 + RATE_LIMIT_MARGIN)]  # published 2 rps


def test_a_wait_beyond_the_limit_raises_without_calling(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(PARTICIPATIONS).respond_with_json(PARTICIPATION_JSON)
    seller = make_seller(httpserver)
    for _ in range(15):  # burst 15, then one token per 62.5 s > max_wait 60 s
        seller.client.get_marketplace_participations()
    with pytest.raises(ThrottledError, match="rate limit") as caught:
        seller.client.get_marketplace_participations()
    assert caught.value.retryable
    assert seller.client.calls["getMarketplaceParticipations"] == 15
    assert seller.clock.sleeps == []


def test_clients_of_the_same_seller_share_buckets(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(PARTICIPATIONS).respond_with_json(PARTICIPATION_JSON)
    limiter = RateLimiter()
    clock = FakeClock()
    first = make_seller(httpserver, clock=clock, rate_limiter=limiter)
    twin = make_seller(
        httpserver, clock=clock, rate_limiter=limiter, refresh_token=first.refresh_token
    )
    other = make_seller(httpserver, clock=clock, rate_limiter=limiter)
    for _ in range(15):
        first.client.get_marketplace_participations()
    with pytest.raises(ThrottledError):
        twin.client.get_marketplace_participations()
    other.client.get_marketplace_participations()  # another seller has its own budget


# ------------------------------------------------------------------------- headers and URLs


def test_user_agent_follows_amazons_format(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORT).respond_with_json(REPORT_JSON)
    make_seller(httpserver).client.get_report("R1")
    (request, _) = httpserver.log[-1]
    agent = request.headers["User-Agent"]
    assert re.fullmatch(
        r"hyreka-plugin-amazon/\d+\.\d+\.\d+\S* \(Language=Python/3\.\d+\.\d+\S*; Platform=\w+\)",
        agent,
    )
    assert len(agent) <= 500
    assert request.headers["Accept"] == "application/json"


def test_too_long_user_agent_is_refused(httpserver: HTTPServer) -> None:
    with pytest.raises(ValueError, match="500"):
        make_seller(httpserver, user_agent="x" * 501)


@pytest.mark.parametrize(
    ("endpoint", "token_url"),
    [
        ("http://sellingpartnerapi-eu.amazon.com", None),
        ("https://sellingpartnerapi-eu.amazon.com", "http://api.amazon.com/auth/o2/token"),
        ("ftp://127.0.0.1", None),
        ("http://10.0.0.1:8080", None),
    ],
)
def test_plain_http_is_refused_for_other_than_loopback(
    endpoint: str, token_url: str | None
) -> None:
    with pytest.raises(ValueError, match="https"):
        SpApiClient(
            client_id=CLIENT_ID,
            client_secret=Secret("s"),
            refresh_token=Secret("r"),
            region="eu",
            endpoint=endpoint,
            token_url=token_url,
        )


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", None]
)
def test_loopback_http_and_https_are_accepted(endpoint: str | None) -> None:
    amazon = CannedAmazon()
    client = SpApiClient(
        client_id=CLIENT_ID,
        client_secret=Secret("s"),
        refresh_token=Secret(f"Atzr|made-up-{uuid.uuid4().hex}"),
        region="eu",
        endpoint=endpoint,
        token_url="http://127.0.0.1:8000/auth/o2/token",
        session=amazon.session(),
    )
    participations = client.get_marketplace_participations()
    assert [p.marketplace_id for p in participations] == ["A1PA6795UKMFR9"]
    # no endpoint: the region's own (https); otherwise exactly the loopback one given
    api = endpoint or "https://sellingpartnerapi-eu.amazon.com"
    assert amazon.urls == [
        "http://127.0.0.1:8000/auth/o2/token",
        api + CannedAmazon.PARTICIPATIONS,
    ]


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="region"):
        SpApiClient(
            client_id=CLIENT_ID,
            client_secret=Secret("s"),
            refresh_token=Secret("r"),
            region="moon",
            endpoint="http://127.0.0.1:8000",
        )


def test_no_secret_or_token_reaches_the_log(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = iter(["Atza|old-access-token", "Atza|new-access-token"])
    httpserver.expect_request(TOKEN_PATH).respond_with_handler(
        lambda _: Response(
            json.dumps({"access_token": next(tokens), "expires_in": 3600}),
            content_type="application/json",
        )
    )
    httpserver.expect_oneshot_request(REPORT).respond_with_response(
        amazon_errors("Unauthorized", "Access to requested resource is denied.", 403)
    )
    httpserver.expect_oneshot_request(REPORT).respond_with_data("", status=503)
    httpserver.expect_oneshot_request(REPORT).respond_with_json(REPORT_JSON)
    seller = make_seller(httpserver)
    seller.client.get_report("R1")

    ours = [r for r in caplog.records if r.name.startswith("hyreka_plugin_amazon")]
    assert any("GET /reports/2021-06-30/reports/R1 -> 503" in r.getMessage() for r in ours)
    forbidden = (*seller.secrets, "Atza|old-access-token", "Atza|new-access-token")
    for record in ours:
        for secret in forbidden:
            assert secret not in record.getMessage()


def test_concurrent_clients_share_one_token_exchange(httpserver: HTTPServer) -> None:
    def slow_token(_: Request) -> Response:
        time.sleep(0.05)  # keeps the other threads waiting on the exchange in flight
        return Response(
            json.dumps({"access_token": "Atza|shared", "expires_in": 3600}),
            content_type="application/json",
        )

    httpserver.expect_request(TOKEN_PATH).respond_with_handler(slow_token)
    httpserver.expect_request(REPORT).respond_with_json(REPORT_JSON)
    first = make_seller(httpserver)
    sellers = [first] + [
        make_seller(httpserver, refresh_token=first.refresh_token) for _ in range(3)
    ]
    failures: list[BaseException] = []

    def work(client: SpApiClient) -> None:
        try:
            client.get_report("R1")
        except BaseException as exc:  # reported below, a thread cannot raise into the test
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(s.client,)) for s in sellers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5.0)
    assert failures == []
    assert token_requests(httpserver) == 1


def test_an_error_message_echoing_the_token_is_redacted(httpserver: HTTPServer) -> None:
    expect_token(httpserver, "Atza|echoed-token")
    httpserver.expect_request(REPORT).respond_with_response(
        amazon_errors("InvalidInput", "bad token Atza|echoed-token for this call", 400)
    )
    with pytest.raises(BadRequestError) as caught:
        make_seller(httpserver).client.get_report("R1")
    assert "echoed-token" not in str(caught.value)
    assert "echoed-token" not in repr(caught.value)
    assert "bad token *** for this call" in str(caught.value)
