"""Amazon's carrier codes: the values confirmShipment's ``carrierCode`` takes.

Source: the ``CarrierCode`` enumeration of Amazon's feed schema ``amzn-base.xsd`` (the schema
of ``POST_ORDER_FULFILLMENT_DATA``, whose ``CarrierCode`` confirmShipment's ``carrierCode``
mirrors), as reproduced verbatim by code generated from that schema in public repositories;
``ordersV0.json`` itself names no list and refers to Amazon's "Acceptable CarrierCode values".
Amazon's current Seller Central list may carry carriers this one lacks: those go as "Other"
with their name in ``carrierName``, which Amazon accepts for any carrier.
"""

from __future__ import annotations

from typing import Final

OTHER: Final = "Other"

CARRIER_CODES: Final[tuple[str, ...]] = (
    "USPS", "UPS", "UPSMI", "FedEx", "DHL", "Fastway", "GLS", "GO!", "Hermes Logistik Gruppe",
    "Royal Mail", "Parcelforce", "City Link", "TNT", "Target", "SagawaExpress", "NipponExpress",
    "YamatoTransport", "DHL Global Mail", "UPS Mail Innovations", "FedEx SmartPost", "OSM",
    "OnTrac", "Streamlite", "Newgistics", "Canada Post", "Blue Package", "Chronopost",
    "Deutsche Post", "DPD", "La Poste", "Parcelnet", "Poste Italiane", "SDA", "Smartmail",
    "FEDEX_JP", "JP_EXPRESS", "NITTSU", "SAGAWA", "YAMATO", "BlueDart", "AFL/Fedex", "Aramex",
    "India Post", "Professional", "DTDC", "Overnite Express", "First Flight", "Delhivery",
    "Lasership", "Yodel", OTHER,
)  # fmt: skip
