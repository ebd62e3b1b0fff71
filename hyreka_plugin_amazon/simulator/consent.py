"""Seller Central's consent page of the website authorization workflow, as Amazon runs it.

``GET /apps/authorize/consent?application_id=…&state=…[&version=beta][&redirect_uri=…]``
shows the app's name, the signed-in seller and the buttons "Bestätigen"/"Confirm" and
"Abbrechen"/"Cancel" (German for a browser that prefers it). The answer (``POST`` to the same
address) sends the browser to the redirect URI: confirmed with ``state``,
``selling_partner_id`` and ``spapi_oauth_code``; cancelled (or the fault
``authorization_denied``) with ``state`` and ``error=access_denied``. The code is exchanged at
LWA (``grant_type=authorization_code``, in ``api.py``). ``POST /_simulator/consent`` answers
for the seller without a browser (the demo, headless tests).

The signed-in seller is the default seller, or on a regional host (``/na/apps/…``) the first
seller of that region. The simulator has no registered redirect URIs: the consent URL names
one (``redirect_uri``, http or https), and the code is bound to it.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from hyreka_plugin_amazon.simulator.sellers import Seller
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    Request,
    Response,
    Route,
    invalid_input,
    json_response,
    route,
)

PATH = "/apps/authorize/consent"
DENIED = "access_denied"
_TEXTS = {
    "de": {
        "title": "App autorisieren",
        "asks": "{app} möchte auf Ihr Verkäuferkonto zugreifen.",
        "seller": "Verkäufer",
        "marketplaces": "Marktplätze",
        "confirm": "Bestätigen",
        "cancel": "Abbrechen",
        "beta": "Diese App ist im Entwurf (version=beta).",
        "bad": "Die Autorisierung kann nicht beginnen",
    },
    "en": {
        "title": "Authorize app",
        "asks": "{app} asks for access to your seller account.",
        "seller": "Seller",
        "marketplaces": "Marketplaces",
        "confirm": "Confirm",
        "cancel": "Cancel",
        "beta": "This app is in draft (version=beta).",
        "bad": "The authorization cannot start",
    },
}


class _Refused(Exception):
    """A consent request Seller Central refuses with a page (no redirect: it cannot trust
    the redirect URI)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def consent_page(state: SimulatorState, req: Request) -> Response:
    """GET: the consent page, or at once the redirect of the fault ``authorization_denied``."""
    language = _language(req)
    try:
        asked = _asked(state, req.query)
        seller = _signed_in(state, req.region)
    except _Refused as refused:
        return _refused_page(language, refused.reason)
    if state.faults.fire("authorization_denied", seller_id=seller.seller_id):
        return _redirect(_denied(asked))
    return _html(200, _page(state, language, asked, seller))


def consent_answer(state: SimulatorState, req: Request) -> Response:
    """POST: the seller's answer (``decision`` confirm or cancel) -> the redirect."""
    form = parse_qs(req.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    try:
        asked = _asked(state, form)
        seller = _signed_in(state, req.region)
    except _Refused as refused:
        return _refused_page(_language(req), refused.reason)
    decision = (form.get("decision") or [""])[0]
    return _redirect(answer(state, asked, seller, confirm=decision == "confirm"))


def answer(state: SimulatorState, asked: dict[str, str], seller: Seller, *, confirm: bool) -> str:
    """Where Seller Central sends the browser after the seller's answer."""
    if not confirm:
        return _denied(asked)
    code = state.consents.issue_code(seller.seller_id, asked["redirect_uri"])
    params = {
        "state": asked["state"],
        "selling_partner_id": seller.seller_id,
        "spapi_oauth_code": code,
    }
    return _with_query(asked["redirect_uri"], params)


def admin_consent(state: SimulatorState, req: Request) -> Response:
    """POST /_simulator/consent ``{"application_id", "state", "redirect_uri", "version",
    "seller_id", "decision": "confirm"|"cancel"}`` -> ``{"redirect": url}``: the seller's
    answer without a browser (``seller_id`` None: the default seller)."""
    spec = req.json()
    if not isinstance(spec, dict):
        raise invalid_input("Expected a JSON object.")
    query = {k: [str(v)] for k, v in spec.items() if v is not None and k != "seller_id"}
    seller_id = spec.get("seller_id") or state.default_seller.seller_id
    seller = state.sellers.get(str(seller_id))
    if seller is None:
        raise invalid_input(f"no seller {seller_id}")
    try:
        asked = _asked(state, query)
    except _Refused as refused:
        raise invalid_input(refused.reason) from None
    if state.faults.fire("authorization_denied", seller_id=seller.seller_id):
        return json_response(200, {"redirect": _denied(asked)})
    confirm = spec.get("decision", "confirm") == "confirm"
    return json_response(200, {"redirect": answer(state, asked, seller, confirm=confirm)})


def _asked(state: SimulatorState, query: dict[str, list[str]]) -> dict[str, str]:
    """The consent request's parameters, checked as Seller Central checks them."""
    given = {key: values[0] for key, values in query.items() if values}
    if given.get("application_id") != state.consents.application_id:
        raise _Refused("unknown application_id")
    if not given.get("state"):
        raise _Refused("missing state")
    version = given.get("version")
    if version not in (None, "", "beta"):
        raise _Refused("version must be beta (an app in draft) or left out")
    redirect_uri = given.get("redirect_uri", "")
    split = urlsplit(redirect_uri)
    if split.scheme not in ("http", "https") or not split.netloc:
        raise _Refused(
            "redirect_uri must be an http(s) address (the simulator has none registered)"
        )
    return {
        "application_id": given["application_id"],
        "state": given["state"],
        "redirect_uri": redirect_uri,
        "version": version or "",
    }


def _signed_in(state: SimulatorState, region: str) -> Seller:
    seller = state.default_seller
    if region and seller.region != region:
        found = next((s for s in state.sellers.values() if s.region == region), None)
        if found is None:
            raise _Refused(f"no seller signed in on the {region} host")
        seller = found
    return seller


def _denied(asked: dict[str, str]) -> str:
    params = {
        "state": asked["state"],
        "error": DENIED,
        "error_description": "The selling partner denied the authorization request.",
    }
    return _with_query(asked["redirect_uri"], params)


def _with_query(url: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"


def _language(req: Request) -> str:
    preferred = req.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "de" if preferred.startswith("de") else "en"


def _page(state: SimulatorState, language: str, asked: dict[str, str], seller: Seller) -> str:
    words = _TEXTS[language]
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in asked.items()
        if v
    )
    markets = ", ".join(m.domain for m in seller.marketplaces)
    beta = f"<p>{words['beta']}</p>" if asked["version"] == "beta" else ""
    app = escape(state.consents.app_name)
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{words['title']}</title></head><body><h1>{words['title']}</h1>"
        f"<p>{words['asks'].format(app=f'<strong>{app}</strong>')}</p>{beta}"
        f"<dl><dt>{words['seller']}</dt><dd>{escape(seller.store_name)} "
        f"({escape(seller.seller_id)})</dd><dt>{words['marketplaces']}</dt>"
        f"<dd>{escape(markets)}</dd></dl>"
        f'<form method="post" action="">{hidden}'
        f'<button type="submit" name="decision" value="confirm">{words["confirm"]}</button> '
        f'<button type="submit" name="decision" value="cancel">{words["cancel"]}</button>'
        "</form></body></html>"
    )


def _refused_page(language: str, reason: str) -> Response:
    words = _TEXTS[language]
    body = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{words['bad']}</title></head><body><h1>{words['bad']}</h1>"
        f"<p>{escape(reason)}</p></body></html>"
    )
    return _html(400, body)


def _html(status: int, body: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    return Response(status, body.encode("utf-8"), "text/html; charset=utf-8", headers)


def _redirect(location: str) -> Response:
    return Response(302, b"", "text/html; charset=utf-8", {"Location": location})


# Seller Central's pages are no SP-API operations: no usage plan, no request faults
ROUTES: tuple[Route[SimulatorState], ...] = (
    route("GET", PATH, "_consent", consent_page, auth=False),
    route("POST", PATH, "_consent", consent_answer, auth=False),
    route("POST", "/_simulator/consent", "_consent", admin_consent, auth=False),
)
