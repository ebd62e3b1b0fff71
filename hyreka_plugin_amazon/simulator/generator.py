"""A seeded generator of realistic European Amazon orders (made-up people, real-looking shapes).

Every text of the EU locales is representable in cp1252, as Amazon's EU flat files are served
in that charset; Japan's in cp932 (Shift_JIS).
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from hyreka_plugin_amazon.simulator.ordermodel import PostalAddress, Promotion, SimItem, SimOrder
from hyreka_plugin_amazon.spapi.regions import Marketplace

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Locale:
    """Made-up people and places of one country."""

    country_code: str
    language: str
    vat_rate: Decimal
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]  # "{n}" is replaced by a house number
    extra_lines: tuple[str, ...]  # second address lines
    cities: tuple[tuple[str, str, str], ...]  # (city, postal code, state)
    phone: str  # pattern, "#" is a digit
    companies: tuple[str, ...]
    vat_id: str  # pattern, "#" digit, "@" letter


LOCALES: dict[str, Locale] = {
    "DE": Locale(
        "DE",
        "de",
        Decimal("0.19"),
        ("Jürgen", "Käthe", "Björn", "Sabine", "Günther", "Jörg", "Ulrike", "Maximilian", "Jana"),
        ("Müller", "Weiß", "Schröder", "Groß", "Bäcker", "Hoffmann", "Köhler", "Strauß", "Fuchs"),
        (
            "Hauptstraße {n}",
            "Königsallee {n}",
            "Müllerstraße {n}a",
            "Am Großen Garten {n}",
            "Schloßstraße {n}",
            "Lindenweg {n}",
            "Überseering {n}",
        ),
        ("c/o Familie Schäfer", "2. OG links", "Hinterhaus", "Packstation 123"),
        (
            ("München", "80331", "Bayern"),
            ("Köln", "50667", "Nordrhein-Westfalen"),
            ("Düsseldorf", "40213", "Nordrhein-Westfalen"),
            ("Nürnberg", "90402", "Bayern"),
            ("Lübeck", "23552", "Schleswig-Holstein"),
            ("Göttingen", "37073", "Niedersachsen"),
            ("Saarbrücken", "66111", "Saarland"),
            ("Würzburg", "97070", "Bayern"),
            ("Dresden", "01067", "Sachsen"),
        ),
        "+49 1## #######",
        (
            "Müller & Söhne GmbH",
            "Bäckerei Weiß KG",
            "Schröder Büroservice e.K.",
            "Großhandel Köhler GmbH & Co. KG",
        ),
        "DE#########",
    ),
    "AT": Locale(
        "AT",
        "de",
        Decimal("0.20"),
        ("Jürgen", "Höfler", "Lisl", "Grete", "Sepp", "Günther"),
        ("Gruber", "Huber", "Pölzl", "Würth", "Mayrhofer"),
        ("Mariahilfer Straße {n}", "Kärntner Ring {n}", "Getreidegasse {n}"),
        ("Stiege 2, Tür 7",),
        (("Wien", "1070", ""), ("Graz", "8010", ""), ("Salzburg", "5020", "")),
        "+43 6## ######",
        ("Pölzl Handels GmbH",),
        "ATU########",
    ),
    "FR": Locale(
        "FR",
        "fr",
        Decimal("0.20"),
        ("Hélène", "François", "Zoé", "Gaëlle", "Jérôme", "Cécile", "Léon", "Anaïs", "Noël"),
        ("Dubois", "Lefèvre", "Mercier", "Lemaître", "Bézier", "Fournier", "Gérard", "Crémieux"),
        (
            "{n} rue de la Fontaine",
            "{n} cité Joly",
            "{n} place de l'Église",
            "{n} avenue des Champs-Élysées",
            "{n} boulevard Saint-Germain",
            "{n} allée des Peupliers",
        ),
        ("bâtiment K", "Résidence Les Érables", "appartement 12", "cidex 138"),
        (
            ("Orléans", "45000", ""),
            ("Besançon", "25000", ""),
            ("Nîmes", "30000", ""),
            ("Saint-Étienne", "42000", ""),
            ("Paris", "75012", ""),
            ("Lyon", "69006", ""),
            ("Vallières", "07100", ""),
        ),
        "+33 6 ## ## ## ##",
        ("Société Générale d'Équipement SARL", "Boulangerie Lefèvre SAS", "Crémieux & Fils"),
        "FR##########",
    ),
    "BE": Locale(
        "BE",
        "fr",
        Decimal("0.21"),
        ("Amélie", "Jérémy", "Maëlle"),
        ("Peeters", "Dupré", "Van den Brück"),
        ("Rue Neuve {n}", "Chaussée de Wavre {n}"),
        ("boîte 3",),
        (("Bruxelles", "1000", ""), ("Liège", "4000", "")),
        "+32 4## ## ## ##",
        ("Dupré & Cie SRL",),
        "BE0#########",
    ),
    "IT": Locale(
        "IT",
        "it",
        Decimal("0.22"),
        ("Niccolò", "Lucia", "Tommaso", "Giulia", "Mattia", "Federica", "Nicolò"),
        ("Rossi", "Bianchi", "Fabbrì", "Colombo", "De Luca", "Santoro", "Esposito"),
        (
            "Via Nazionale {n}",
            "Corso Vittorio Emanuele II {n}",
            "Piazza San Niccolò {n}",
            "Via dell'Università {n}",
        ),
        ("scala B, interno 4", "presso Studio Rossi"),
        (
            ("Forlì", "47121", "FC"),
            ("Cantù", "22063", "CO"),
            ("Roma", "00184", "RM"),
            ("Milano", "20121", "MI"),
            ("Torino", "10121", "TO"),
            ("Napoli", "80133", "NA"),
        ),
        "+39 3## #######",
        ("Ferramenta Niccolò S.r.l.", "Bianchi & Figli S.p.A."),
        "IT###########",
    ),
    "ES": Locale(
        "ES",
        "es",
        Decimal("0.21"),
        ("José", "María", "Íñigo", "Begoña", "Andrés", "Lucía", "Ramón"),
        ("Muñoz García", "Peña Núñez", "Ibáñez", "Gómez Sáez", "Fernández", "Martín López"),
        (
            "Calle de Alcalá {n}, 3º B",
            "Avenida de la Constitución {n}",
            "Calle Mayor {n}",
            "Plaza de España {n}",
        ),
        ("Escalera 2, 1º izquierda", "Urbanización Los Álamos"),
        (
            ("A Coruña", "15001", "A Coruña"),
            ("Almuñécar", "18690", "Granada"),
            ("Cádiz", "11001", "Cádiz"),
            ("Málaga", "29001", "Málaga"),
            ("Logroño", "26001", "La Rioja"),
            ("Ávila", "05001", "Ávila"),
        ),
        "+34 6## ### ###",
        ("Construcciones Peña S.L.", "Muñoz y Asociados S.A."),
        "ES@#######@",
    ),
    "GB": Locale(
        "GB",
        "en",
        Decimal("0.20"),
        ("Siobhán", "Zoë", "Renée", "Chloë", "Oliver", "Amelia", "Seán"),
        ("O'Brien", "Clarke", "Smith", "Hughes", "Brontë", "Davies", "Ó Briain"),
        ("{n} Queen's Road", "{n} High Street", "{n} St John's Wood Road", "Flat {n}"),
        ("Apartment 5", "Rose Cottage", "Unit 3, Riverside Park"),
        (
            ("London", "SW1A 1AA", "Greater London"),
            ("Manchester", "M1 1AE", "Lancashire"),
            ("Edinburgh", "EH1 1YZ", "Midlothian"),
            ("Bristol", "BS1 4ST", "Avon"),
            ("Alnwick", "NE66 2EU", "Northumberland"),
        ),
        "07### ######",
        ("Brown & Hughes Ltd", "Clarke Trading Co. Ltd"),
        "GB#########",
    ),
    # Japanese addresses name the ward or town in the street line: the city cell is empty (the
    # FBA report writes Amazon's placeholder "--" there); every text is representable in cp932
    "JP": Locale(
        "JP",
        "en",
        Decimal("0"),  # Amazon.co.jp's reports write prices with the tax in, item-tax 0
        ("花子", "一郎", "陽菜", "蓮", "さくら", "健太"),
        ("山田", "佐藤", "鈴木", "高橋", "田中", "渡辺"),
        ("千代田区架空町{n}-2", "見本市中央{n}丁目6-7", "例題区さくら通り{n}-1"),
        ("サンプルハイツ101", "合同会社サンプル", "見本マンション3階"),
        (("", "100-0001", "東京都"), ("", "530-0001", "大阪府"), ("", "460-0001", "愛知県")),
        "090-####-####",
        ("合同会社サンプル", "株式会社見本商事"),
        "T#############",
    ),
}

CROSS_BORDER = {"DE": "AT", "FR": "BE"}  # occasional deliveries to a neighbour


@dataclass(frozen=True)
class Product:
    sku: str
    asin: str
    gross: Decimal  # unit price incl. VAT in EUR; GBP uses 0.85 of it
    titles: dict[str, str]  # language -> title


CATALOGUE: tuple[Product, ...] = (
    Product(
        "KB-1042",
        "B07J3HDB2Y",
        Decimal("12.99"),
        {
            "de": "Kaffeebecher „Grüße aus Köln“ – Porzellan, 300 ml",
            "fr": "Mug « Bonjour de Besançon » – porcelaine, 300 ml",
            "it": "Tazza «Saluti da Forlì» – porcellana, 300 ml",
            "es": "Taza «Recuerdo de Cádiz» – porcelana, 300 ml",
            "en": 'Mug "Greetings from Alnwick" – porcelain, 300 ml',
        },
    ),
    Product(
        "TF-0750-SS",
        "B08KX3MQ1Z",
        Decimal("19.90"),
        {
            "de": "Edelstahl-Trinkflasche 750 ml, auslaufsicher, für Fahrräder & Büro",
            "fr": "Gourde en acier inoxydable 750 ml, étanche",
            "it": "Borraccia in acciaio inossidabile 750 ml, a tenuta stagna",
            "es": "Botella de acero inoxidable 750 ml, antigoteo",
            "en": "Stainless steel water bottle 750 ml, leak-proof",
        },
    ),
    Product(
        "GS-MEM-02",
        "B07H5MKLCZ",
        Decimal("24.99"),
        {
            "de": "Gedenkstecker für Haustiere, personalisierbar – Acryl, silberfarben",
            "fr": "Piquet de plaque commémorative personnalisé – acrylique argenté",
            "it": "Picchetto commemorativo personalizzato – acrilico argentato",
            "es": "Placa conmemorativa personalizada – acrílico plateado",
            "en": "Personalised memorial garden stake – silver acrylic",
        },
    ),
    Product(
        "LED-E27-4P",
        "B09ZR8L5QF",
        Decimal("15.49"),
        {
            "de": "LED-Glühbirne E27, 4er-Pack, warmweiß 2700 K, 806 lm",
            "fr": "Ampoule LED E27, lot de 4, blanc chaud 2700 K",
            "it": "Lampadina LED E27, confezione da 4, bianco caldo",
            "es": "Bombilla LED E27, pack de 4, blanco cálido",
            "en": "LED bulb E27, pack of 4, warm white 2700 K",
        },
    ),
    Product(
        "SCH-OLI-500",
        "B0C4TQW7NA",
        Decimal("9.90"),
        {
            "de": "Natives Olivenöl extra, 500 ml – kaltgepresst",
            "fr": "Huile d'olive vierge extra, 500 ml – première pression à froid",
            "it": "Olio extravergine d'oliva, 500 ml – spremuto a freddo",
            "es": "Aceite de oliva virgen extra, 500 ml – prensado en frío",
            "en": "Extra virgin olive oil, 500 ml – cold pressed",
        },
    ),
    Product(
        "WZ-SET-18",
        "B01N6QJ7XH",
        Decimal("49.95"),
        {
            "de": "Werkzeugset 18-teilig mit Koffer – Schraubendreher, Zange, Maßband",
            "fr": "Coffret à outils 18 pièces – tournevis, pince, mètre",
            "it": "Set di attrezzi 18 pezzi con valigetta",
            "es": "Juego de herramientas de 18 piezas con maletín",
            "en": "18-piece tool set with case – screwdrivers, pliers, tape",
        },
    ),
    Product(
        "BUCH-KOCH-1",
        "3833853592",
        Decimal("22.00"),
        {
            "de": "Das große Kochbuch der Grünen Küche (Gebundene Ausgabe)",
            "fr": "Le grand livre de la cuisine végétarienne (relié)",
            "it": "Il grande libro della cucina verde (copertina rigida)",
            "es": "El gran libro de la cocina verde (tapa dura)",
            "en": "The Big Book of Green Cooking (hardcover)",
        },
    ),
    Product(
        "SOCK-WL-3943",
        "B0BF5YV2K8",
        Decimal("7.49"),
        {
            "de": "Wollsocken, Größe 39–43, 2 Paar – Merino",
            "fr": "Chaussettes en laine, pointure 39–43, 2 paires – mérinos",
            "it": "Calzini di lana, taglia 39–43, 2 paia – merino",
            "es": "Calcetines de lana, talla 39–43, 2 pares – merino",
            "en": "Wool socks, size 6–9, 2 pairs – merino",
        },
    ),
    Product(
        "USB-C-2M",
        "B07THHQMHM",
        Decimal("8.99"),
        {
            "de": "USB-C-Kabel 2 m, geflochten, 60 W Schnellladung",
            "fr": "Câble USB-C 2 m, tressé, charge rapide 60 W",
            "it": "Cavo USB-C 2 m, intrecciato, ricarica rapida 60 W",
            "es": "Cable USB-C 2 m, trenzado, carga rápida 60 W",
            "en": "USB-C cable 2 m, braided, 60 W fast charging",
        },
    ),
    Product(
        "TEE-ROOI-250",
        "B00K2BWG3E",
        Decimal("5.95"),
        {
            "de": "Rooibos-Tee „Südafrika“, lose, 250 g",
            "fr": "Thé rooibos « Afrique du Sud », en vrac, 250 g",
            "it": "Tè rooibos «Sudafrica», sfuso, 250 g",
            "es": "Té rooibos «Sudáfrica», a granel, 250 g",
            "en": 'Rooibos tea "South Africa", loose leaf, 250 g',
        },
    ),
)

ORDER_ID_PREFIXES = ("302", "303", "304", "305", "306", "028", "171", "402", "403", "405", "407")
PROMOTION_IDS = (
    "Percentage Off 2026/02/07 10-56-21-909",
    "PAWS-V2-22886240117-91",
    "Core Free Shipping 2015/04/08 23-59-11-975",
    "Spring Sale 2026/03/01 08-00-00-000",
)


class OrderGenerator:
    """Creates orders from one ``random.Random(seed)`` stream, so a seed gives the same orders."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._order_ids: set[str] = set()
        self._item_ids: set[str] = set()

    def generate(
        self,
        count: int,
        seller_id: str,
        marketplaces: Sequence[Marketplace],
        now: datetime,
        days: float = 14.0,
        *,
        settle: bool = True,
    ) -> list[SimOrder]:
        """``count`` orders placed in the ``days`` before ``now``, oldest first.

        With ``settle``, life-cycle events (payment, shipping, cancellation) that would fall
        after ``now`` are dropped, so the orders stand still until a test moves them on;
        without, they happen when the simulator clock passes them.
        """
        rng = self._rng
        orders = []
        for _ in range(count):
            market = rng.choice(marketplaces)
            pending = rng.random() < 0.10
            age = rng.uniform(0, 6 * 3600) if pending else rng.uniform(0, days * 86400)
            order = self.order(seller_id, market, now - timedelta(seconds=age))
            self._plan_life_cycle(order, pending)
            if settle:
                _drop_future(order, now)
            orders.append(order)
        orders.sort(key=lambda o: (o.purchase_date, o.order_id))
        return orders

    def order(self, seller_id: str, marketplace: Marketplace, placed: datetime) -> SimOrder:
        """One order placed at ``placed`` (to the second), payment not yet authorised."""
        rng = self._rng
        home = marketplace.country_code if marketplace.country_code in LOCALES else "DE"
        country = CROSS_BORDER.get(home, home) if rng.random() < 0.08 else home
        loc = LOCALES[country]
        afn = rng.random() < 0.35
        business = rng.random() < 0.15
        buyer_first, buyer_last = rng.choice(loc.first_names), rng.choice(loc.last_names)
        buyer_name = f"{buyer_first} {buyer_last}"
        if rng.random() < 0.75:
            recipient = buyer_name
        elif rng.random() < 0.5:
            recipient = f"{buyer_last.upper()} {buyer_first}"
        else:
            recipient = f"{rng.choice(loc.first_names)} {rng.choice(loc.last_names)}"
        ship = self._address(loc)
        bill = self._address(LOCALES[home]) if rng.random() < 0.20 else ship
        company = rng.choice(loc.companies) if business else ""
        items = [self._item(marketplace, loc, business) for _ in range(self._item_count())]
        if not afn and rng.random() < 0.3:  # merchant shipping charged on the first item
            self._charge_shipping(items[0], marketplace, loc)
        for item in items:  # the order reports show these of FBA items only (README)
            _extras(item, marketplace, loc)
        purchase = placed.replace(microsecond=0)
        return SimOrder(
            order_id=self._order_id(),
            seller_id=seller_id,
            marketplace=marketplace,
            fulfillment_channel="AFN" if afn else "MFN",
            purchase_date=purchase,
            payments_date=None,
            buyer_email=self._relay_email(marketplace),
            buyer_name=buyer_name,
            buyer_phone=self._phone(loc) if rng.random() < 0.4 else "",
            recipient_name=recipient,
            ship_phone=self._phone(loc) if not afn and rng.random() < 0.6 else "",
            ship_address=ship,
            bill_address=bill,
            ship_service_level=rng.choice(("Standard", "Standard", "Expedited", "NextDay")),
            items=items,
            is_business_order=business,
            purchase_order_number=(
                f"PO-{purchase:%Y}-{rng.randint(1, 9999):04d}"
                if business and rng.random() < 0.6
                else ""
            ),
            buyer_company_name=company,
            buyer_tax_registration_id=self._pattern(loc.vat_id) if business else "",
            buyer_tax_registration_country=country if business else "",
        )

    def _plan_life_cycle(self, order: SimOrder, pending: bool) -> None:
        """Payment, shipping (sometimes in two parts) or cancellation, as event times."""
        rng = self._rng
        wait = rng.randint(3600, 86400) if pending else rng.randint(30, 2400)
        order.payments_date = order.purchase_date + timedelta(seconds=wait)
        if rng.random() < 0.06:
            start = order.purchase_date if pending else order.payments_date
            order.cancelled_at = start + timedelta(seconds=rng.randint(600, 2 * 86400))
            if order.cancelled_at < order.payments_date:
                order.payments_date = None
            return
        shipped = order.payments_date + timedelta(seconds=rng.randint(2 * 3600, 3 * 86400))
        partly = len(order.items) > 1 and rng.random() < 0.15
        for index, item in enumerate(order.items):
            later = timedelta(days=2) if partly and index > 0 else timedelta(0)
            item.shipped_at = shipped + later

    def _item_count(self) -> int:
        return self._rng.choices((1, 2, 3, 4), weights=(70, 18, 8, 4))[0]

    def _item(self, marketplace: Marketplace, loc: Locale, business: bool) -> SimItem:
        rng = self._rng
        product = rng.choice(CATALOGUE)
        quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        unit = product.gross
        cent = YEN if marketplace.currency == "JPY" else CENT
        if marketplace.currency in _RATES:
            unit = (unit * _RATES[marketplace.currency]).quantize(cent, ROUND_HALF_UP)
        price = unit * quantity
        item = SimItem(
            order_item_id=self._item_id(),
            sku=product.sku,
            asin=product.asin,
            title=_title(product, loc),
            quantity=quantity,
            item_price=price,
            item_tax=_vat(price, loc.vat_rate),
            shipping_price=Decimal("0.00"),
            shipping_tax=Decimal("0.00"),
            price_designation="Business Price" if business and rng.random() < 0.5 else "",
        )
        roll = rng.random()
        if roll < 0.15:
            promotions = 2 if roll < 0.05 else 1
            for promo_id in rng.sample(PROMOTION_IDS, promotions):
                share = Decimal(rng.choice(("0.05", "0.10", "0.15")))
                discount = -(price * share).quantize(cent, ROUND_HALF_UP)
                item.promotions.append(Promotion(promo_id, discount))
        return item

    def _charge_shipping(self, item: SimItem, marketplace: Marketplace, loc: Locale) -> None:
        rng = self._rng
        price = Decimal(rng.choice(("3.99", "4.90", "5", "6.50")))
        if marketplace.currency == "GBP":
            price = Decimal(rng.choice(("2.99", "3.49")))
        elif marketplace.currency == "JPY":
            price = Decimal(rng.choice(("350", "550")))
        item.shipping_price = price
        item.shipping_tax = _vat(price, loc.vat_rate)
        if rng.random() < 0.3:
            item.ship_promotion = Promotion(PROMOTION_IDS[2], -price)

    def _address(self, loc: Locale) -> PostalAddress:
        rng = self._rng
        lines = [rng.choice(loc.streets).format(n=rng.randint(1, 140))]
        if rng.random() < 0.2:
            lines.append(rng.choice(loc.extra_lines))
        city, postal, state = rng.choice(loc.cities)
        return PostalAddress(tuple(lines), city, postal, loc.country_code, state)

    def _order_id(self) -> str:
        while True:
            rng = self._rng
            prefix = rng.choice(ORDER_ID_PREFIXES)
            oid = f"{prefix}-{rng.randint(0, 9999999):07d}-{rng.randint(0, 9999999):07d}"
            if oid not in self._order_ids:
                self._order_ids.add(oid)
                return oid

    def _item_id(self) -> str:
        while True:
            iid = f"{self._rng.randint(0, 10**14 - 1):014d}"
            if iid not in self._item_ids:
                self._item_ids.add(iid)
                return iid

    def _relay_email(self, marketplace: Marketplace) -> str:
        local = "".join(self._rng.choices(string.ascii_lowercase + string.digits, k=14))
        return f"{local}@marketplace.{marketplace.domain.lower()}"

    def _phone(self, loc: Locale) -> str:
        return self._pattern(loc.phone)

    def _pattern(self, pattern: str) -> str:
        rng = self._rng
        return "".join(
            str(rng.randint(0, 9))
            if c == "#"
            else rng.choice(string.ascii_uppercase)
            if c == "@"
            else c
            for c in pattern
        )


def _title(product: Product, loc: Locale) -> str:
    """The product's title in the buyer's language; Japan's store shows the English one,
    with only characters Shift_JIS has (no en dash)."""
    title = product.titles.get(loc.language, product.titles["en"])
    return title.replace("–", "-") if loc.country_code == "JP" else title


YEN = Decimal("1")
_RATES = {"GBP": Decimal("0.85"), "JPY": Decimal("160")}  # from the catalogue's EUR prices
_GIFT_WRAP = {"EUR": Decimal("2.99"), "GBP": Decimal("2.49"), "JPY": Decimal("154")}


def _extras(item: SimItem, marketplace: Marketplace, loc: Locale) -> None:
    """Gift wrap now and then (a price per unit with its tax), and in Japan the points the
    seller grants (1% of the price); only the FBA shipments report has columns for them.
    Decided by the item id, not by the generator's random stream, so the orders of a seed
    stay what they were."""
    roll = int(hashlib.sha256(item.order_item_id.encode()).hexdigest()[:8], 16) % 100
    if roll < 12:
        unit = _GIFT_WRAP.get(marketplace.currency, _GIFT_WRAP["EUR"])
        item.gift_wrap_price = unit * item.quantity
        item.gift_wrap_tax = _vat(item.gift_wrap_price, loc.vat_rate)
    if marketplace.currency == "JPY":
        item.points_granted = (item.item_price / 100).quantize(YEN, ROUND_DOWN)


def _vat(gross: Decimal, rate: Decimal) -> Decimal:
    return (gross - gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)


def _drop_future(order: SimOrder, now: datetime) -> None:
    if order.payments_date is not None and order.payments_date > now:
        order.payments_date = None
    if order.cancelled_at is not None and order.cancelled_at > now:
        order.cancelled_at = None
    for item in order.items:
        if item.shipped_at is not None and item.shipped_at > now:
            item.shipped_at = None
