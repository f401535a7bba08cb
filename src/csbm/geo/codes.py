"""ISO 3166-1 numeric codes (as Natural Earth and world-atlas key countries) for the 57
OSCE participating States, mapped to the alpha-2 codes csbm uses (ISO 3166-1:2020).

Also the Natural Earth units that are not participating States themselves but whose land
the zone of application treats with a participating State (Åland with Finland, the Faroe
Islands with Denmark, ...); see csbm.geo.zone.
"""

from __future__ import annotations

NUMERIC_TO_ALPHA2: dict[str, str] = {
    "008": "AL", "020": "AD", "051": "AM", "040": "AT", "031": "AZ", "112": "BY",
    "056": "BE", "070": "BA", "100": "BG", "124": "CA", "191": "HR", "196": "CY",
    "203": "CZ", "208": "DK", "233": "EE", "246": "FI", "250": "FR", "268": "GE",
    "276": "DE", "300": "GR", "336": "VA", "348": "HU", "352": "IS", "372": "IE",
    "380": "IT", "398": "KZ", "417": "KG", "428": "LV", "438": "LI", "440": "LT",
    "442": "LU", "470": "MT", "498": "MD", "492": "MC", "496": "MN", "499": "ME",
    "528": "NL", "807": "MK", "578": "NO", "616": "PL", "620": "PT", "642": "RO",
    "643": "RU", "674": "SM", "688": "RS", "703": "SK", "705": "SI", "724": "ES",
    "752": "SE", "756": "CH", "762": "TJ", "795": "TM", "792": "TR", "804": "UA",
    "826": "GB", "840": "US", "860": "UZ",
}  # fmt: skip

ALPHA2_TO_NUMERIC: dict[str, str] = {a: n for n, a in NUMERIC_TO_ALPHA2.items()}

# Natural Earth units with their own code or none, whose land lies in Europe and which the
# zone treats like the named participating State's land (for in_zone only; borders are
# always between the participating States' own polygons).
ZONE_ASSOCIATES: dict[str, str] = {
    "248": "FI",  # Åland
    "234": "DK",  # Faroe Islands
    "292": "GB",  # Gibraltar
    "831": "GB",  # Guernsey
    "832": "GB",  # Jersey
    "833": "GB",  # Isle of Man
    "N. Cyprus": "CY",
    "Cyprus U.N. Buffer Zone": "CY",
    "Dhekelia": "CY",
    "Akrotiri": "CY",
    "Kosovo": "RS",  # geographically Europe: the zone is "the whole of Europe" (digest §2)
    "Baikonur": "KZ",
}
