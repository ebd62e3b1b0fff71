"""Amazon's carrier codes: the values confirmShipment's ``carrierCode`` takes.

Source: the ``CarrierCode`` values Amazon accepts in shipment confirmations, as listed in
Seller Central ("Versand bestätigen" > Versanddienst) and in the ``CarrierCode`` enumeration of
Amazon's feed schema ``amzn-base.xsd`` (``ordersV0.json`` itself names no list). Kept to the
carriers of Amazon's European and North American marketplaces; any other carrier goes as
"Other" with its name (``carrierName``).
"""

from __future__ import annotations

from typing import Final

OTHER: Final = "Other"

CARRIER_CODES: Final[tuple[str, ...]] = (
    "Amazon Shipping", "Asendia", "BRT", "Chronopost", "Colis Prive", "Colissimo", "Correos",
    "Correos Express", "DHL", "DHL Express", "DHL Freight", "DHL Global Mail", "DHL Home Delivery",
    "DPD", "Deutsche Post", "FedEx", "GEL Express", "GLS", "Hermes", "Hermes Einrichtungsservice",
    "Hermes Logistik Gruppe", "Hurtigruten", "La Poste", "MRW", "Nacex", "Österreichische Post",
    "Parcelforce", "Poste Italiane", "PostNL", "Royal Mail", "SDA", "Schenker", "Seur",
    "Swiss Post", "TNT", "UPS", "UPS Mail Innovations", "USPS", "Yodel", "bpost", "Canada Post",
    "OnTrac", "Other",
)  # fmt: skip
