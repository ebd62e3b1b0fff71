"""Operations Amazon has and the simulator does not serve: a distinct answer naming them.

Amazon's gateway answers an unknown path like a missing access token (403
``MissingAuthenticationToken``); the simulator does the same for paths no SP-API has. But an
operation Amazon serves and the simulator does not must not look like an authentication bug,
so it gets ``501 NotSimulated`` naming the operation. The table lists the operations of the
APIs whose models the project keeps (``tests/test_simulator_refusals.py`` checks it);
other SP-API families are named by their path prefix.
"""

from __future__ import annotations

import re

from hyreka_plugin_amazon.simulator.vocabulary import ApiError, Response

NOT_SIMULATED: tuple[tuple[str, str, str], ...] = (
    ("GET", "/sellers/v1/account", "getAccount"),
    ("GET", "/reports/2021-06-30/schedules", "getReportSchedules"),
    ("POST", "/reports/2021-06-30/schedules", "createReportSchedule"),
    ("GET", "/reports/2021-06-30/schedules/{reportScheduleId}", "getReportSchedule"),
    ("DELETE", "/reports/2021-06-30/schedules/{reportScheduleId}", "cancelReportSchedule"),
    ("POST", "/orders/v0/orders/{orderId}/shipment", "updateShipmentStatus"),
    ("GET", "/orders/v0/orders/{orderId}/regulatedInfo", "getOrderRegulatedInfo"),
    ("PATCH", "/orders/v0/orders/{orderId}/regulatedInfo", "updateVerificationStatus"),
    ("GET", "/notifications/v1/subscriptions", "getSubscriptions"),
    ("GET", "/notifications/v1/subscriptions/{notificationType}", "getSubscription"),
    ("POST", "/notifications/v1/subscriptions/{notificationType}", "createSubscription"),
    (
        "GET",
        "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
        "getSubscriptionById",
    ),
    (
        "DELETE",
        "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
        "deleteSubscriptionById",
    ),
    (
        "POST",
        "/notifications/v1/subscriptions/{notificationType}/testNotification",
        "sendTestNotification",
    ),
    ("GET", "/notifications/v1/destinations", "getDestinations"),
    ("POST", "/notifications/v1/destinations", "createDestination"),
    ("GET", "/notifications/v1/destinations/{destinationId}", "getDestination"),
    ("DELETE", "/notifications/v1/destinations/{destinationId}", "deleteDestination"),
)

# Further SP-API families by path prefix (their models are not kept here; an unknown path of
# a modelled family is unknown to Amazon too)
API_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/aplus/", "A+ Content"),
    ("/appIntegrations/", "Application Integrations"),
    ("/applications/", "Application Management"),
    ("/authorization/", "Authorization"),
    ("/awd/", "Amazon Warehousing and Distribution"),
    ("/batches/", "Product Pricing (batches)"),
    ("/catalog/", "Catalog Items"),
    ("/customerFeedback/", "Customer Feedback"),
    ("/dataKiosk/", "Data Kiosk"),
    ("/definitions/", "Product Type Definitions"),
    ("/easyShip/", "Easy Ship"),
    ("/externalFulfillment/", "External Fulfillment"),
    ("/fba/", "Fulfillment by Amazon"),
    ("/feeds/", "Feeds"),
    ("/finances/", "Finances"),
    ("/inbound/", "Fulfillment Inbound"),
    ("/invoices/", "Invoices"),
    ("/listings/", "Listings"),
    ("/messaging/", "Messaging"),
    ("/mfn/", "Merchant Fulfillment"),
    ("/pricing/", "Product Pricing"),
    ("/products/", "Product Pricing / Fees"),
    ("/replenishment/", "Replenishment"),
    ("/sales/", "Sales"),
    ("/service/", "Services"),
    ("/shipping/", "Shipping"),
    ("/solicitations/", "Solicitations"),
    ("/supplySources/", "Supply Sources"),
    ("/uploads/", "Uploads"),
    ("/vendor/", "Vendor"),
    ("/vehicles/", "Vehicles"),
)


def not_simulated(what: str) -> ApiError:
    return ApiError(
        501,
        "NotSimulated",
        f"{what} is an Amazon SP-API operation the simulator does not simulate.",
        "The simulator serves LWA, Sellers (getMarketplaceParticipations), Reports, Tokens, "
        "Orders v2026-01-01 and the Orders v0 reads.",
    )


def answer(method: str, path: str) -> Response | None:
    """``501 NotSimulated`` naming the operation (or its API) of ``method path``; None for a
    path no SP-API has."""
    for wanted, template, operation in NOT_SIMULATED:
        if wanted == method and _TEMPLATES[template].match(path):
            return not_simulated(f"{operation} ({method} {template})").response()
    name = family(path)
    if name is None:
        return None
    return not_simulated(f"{method} {path} (an operation of the {name} API)").response()


_TEMPLATES = {
    template: re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$")
    for _, template, _ in NOT_SIMULATED
}


def family(path: str) -> str | None:
    """The SP-API family a path belongs to, or None for paths no SP-API has."""
    for prefix, name in API_PREFIXES:
        if path.startswith(prefix):
            return name
    return None
