"""Test auto-entrepreneurs and OAuth clients the embedded sandbox starts with.

Plain data, so that the README, the tests and the demo all describe the same
people. Identifiers are fictitious but valid (NIR key, SIRET Luhn). Dates are
fixed (never computed from today) and chosen so that, in late 2026, the
"new business" accounts show a long first period: ``new_business_monthly``
can declare it, ``new_business_quarterly`` cannot yet.

Fields of an account:

- ``alias``: stable name used by tests and docs;
- ``nir`` or ``siret``: how Urssaf identifies the account (exactly one);
- ``nom``, ``prenoms``, ``dateNaissance``: identity, checked against the
  optional identity sent with a mandate;
- ``periodicite``, ``dateDebutActivite``, ``categories``,
  ``versementLiberatoire``, ``eligible``, ``motifNonEligibilite``: as the
  API's ``Compte`` returns them;
- ``trade`` (``commercant``/``artisan``/``liberal``) and ``chamber``
  (``general``/``alsace``/``moselle``): what the contribution engine needs;
- ``acre``: whether the AE benefits from ACRE, from ``dateDebutActivite``
  on (the contract's ``Compte`` has no field for it: the sandbox keeps it,
  like ``trade`` and ``chamber``, for its estimates and declarations);
- ``mandate_holder``: OAuth client already holding the third-party mandate;
- ``sepa_mandates``: SEPA mandates Urssaf already knows for the account;
- ``role``: one French sentence for the README table.
"""

import copy

from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

__all__ = [
    "OTHER_CLIENT_ID",
    "PLATFORM_CLIENT_ID",
    "REJECTED_DEBIT_IBAN",
    "SEED_ACCOUNTS",
    "SEED_CLIENTS",
    "seed_account",
    "seed_identifier",
    "seed_table_rst",
    "synthetic_nir",
    "synthetic_siret",
]

PLATFORM_CLIENT_ID = "demo-tiers"
OTHER_CLIENT_ID = "autre-tiers"
SEED_CLIENTS = {PLATFORM_CLIENT_ID: "demo-secret", OTHER_CLIENT_ID: "autre-secret"}

# A test IBAN whose SEPA debits the sandbox rejects (as a bank does for
# insufficient funds or a closed account): any account can register a SEPA
# mandate for it and pay from it; on the debit date the payment becomes
# REJETE and the declaration is due again (its ``montantRestantDu`` back as
# before the payment, ``DECLAREE`` when nothing else was paid).
REJECTED_DEBIT_IBAN = "FR7620041010050000009999968"

_ACCOUNT_DEFAULTS = {
    "versementLiberatoire": False,
    "eligible": True,
    "motifNonEligibilite": None,
    "chamber": "general",
    "acre": False,
    "mandate_holder": None,
    "sepa_mandates": [],
}

SEED_ACCOUNTS = [
    {
        "alias": "monthly_trader",
        "nir": "288047511102371",
        "nom": "MARTIN",
        "prenoms": "Camille",
        "dateNaissance": "1988-04-12",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2019-03-01",
        "categories": ["VENTE_MARCHANDISES"],
        "trade": "commercant",
        "sepa_mandates": [
            {
                "rum": "URSSAF-AE-SEED-0001",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPPXXX",
                "titulaire": "Camille Martin",
                "dateSignature": "2019-03-20",
            }
        ],
        "role": "Commerçante en ligne, ventes de marchandises, déclaration "
        "mensuelle ; Urssaf connaît déjà son mandat SEPA.",
    },
    {
        "alias": "quarterly_craftsman_moselle",
        "siret": "81234567600017",
        "nom": "BERNARD",
        "prenoms": "Lucas",
        "dateNaissance": "1979-11-03",
        "periodicite": "TRIMESTRIELLE",
        "dateDebutActivite": "2017-06-15",
        "categories": ["PRESTATION_SERVICES_BIC", "VENTE_MARCHANDISES"],
        "trade": "artisan",
        "chamber": "moselle",
        "role": "Plombier artisan en Moselle (services et fournitures BIC), "
        "déclaration trimestrielle, identifié par SIRET.",
    },
    {
        "alias": "liberal_bnc_liberatoire",
        "nir": "292076912304591",
        "nom": "DUBOIS",
        "prenoms": "Léa",
        "dateNaissance": "1992-07-25",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2021-01-04",
        "categories": ["PRESTATION_SERVICES_BNC"],
        "versementLiberatoire": True,
        "trade": "liberal",
        "role": "Consultante libérale (BNC, régime général), mensuelle, avec versement libératoire de l'impôt.",
    },
    {
        "alias": "cipav_corsica",
        "nir": "175022A00401227",
        "nom": "LEROY",
        "prenoms": "Hugo",
        "dateNaissance": "1975-02-14",
        "periodicite": "TRIMESTRIELLE",
        "dateDebutActivite": "2015-09-01",
        "categories": ["PRESTATION_SERVICES_BNC_CIPAV"],
        "trade": "liberal",
        "role": "Architecte affilié à la CIPAV, trimestriel, né en Corse (NIR en 2A).",
    },
    {
        "alias": "new_business_monthly",
        "siret": "92345678400019",
        "nom": "MOREAU",
        "prenoms": "Chloé",
        "dateNaissance": "1998-01-30",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2026-07-20",
        "categories": ["PRESTATION_SERVICES_BIC"],
        "trade": "commercant",
        "role": "Chauffeuse VTC installée le 20/07/2026 (services BIC), "
        "mensuelle : première période longue du 20/07 au 31/10/2026.",
    },
    {
        "alias": "craftsman_alsace_baker",
        "nir": "182066748203101",
        "nom": "FOURNIER",
        "prenoms": "Jules",
        "dateNaissance": "1982-06-08",
        "periodicite": "TRIMESTRIELLE",
        "dateDebutActivite": "2012-02-01",
        "categories": ["VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC"],
        "trade": "artisan",
        "chamber": "alsace",
        "role": "Boulanger artisan en Alsace (ventes et services BIC), trimestriel.",
    },
    {
        "alias": "other_platform",
        "siret": "85312457600028",
        "nom": "ROUX",
        "prenoms": "Manon",
        "dateNaissance": "1990-09-17",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2020-05-11",
        "categories": ["PRESTATION_SERVICES_BNC"],
        "trade": "liberal",
        "mandate_holder": OTHER_CLIENT_ID,
        "role": "Graphiste libérale (BNC) dont le mandat est déjà détenu par "
        "un autre tiers-déclarant (« autre-tiers »).",
    },
    {
        "alias": "not_eligible",
        "nir": "185093306321019",
        "nom": "PETIT",
        "prenoms": "Nathan",
        "dateNaissance": "1985-09-21",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2016-04-01",
        "categories": ["PRESTATION_SERVICES_BIC"],
        "trade": "commercant",
        "eligible": False,
        "motifNonEligibilite": "Sortie du régime micro-social au 31/12/2025 "
        "(chiffre d'affaires au-dessus des seuils deux années de suite).",
        "role": "Agent commercial sorti du régime micro-social : non éligible à la tierce déclaration.",
    },
    {
        "alias": "new_business_quarterly",
        "siret": "98765432400019",
        "nom": "GARNIER",
        "prenoms": "Inès",
        "dateNaissance": "1995-03-02",
        "periodicite": "TRIMESTRIELLE",
        "dateDebutActivite": "2026-09-15",
        "categories": ["PRESTATION_SERVICES_BNC"],
        "trade": "liberal",
        "role": "Développeuse libérale installée le 15/09/2026, trimestrielle : "
        "première période du 15/09 au 31/12/2026, pas encore échue en novembre 2026.",
    },
    {
        "alias": "acre_new_business",
        "nir": "201057505612380",
        "nom": "LAMBERT",
        "prenoms": "Sarah",
        "dateNaissance": "2001-05-14",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2026-07-06",
        "categories": ["PRESTATION_SERVICES_BNC"],
        "trade": "liberal",
        "acre": True,
        "role": "Traductrice libérale (BNC) installée le 06/07/2026 avec l'ACRE, mensuelle : "
        "cotisations à 19,2 % au lieu de 25,6 % jusqu'au 30/06/2027.",
    },
]
SEED_ACCOUNTS = [{**_ACCOUNT_DEFAULTS, **account} for account in SEED_ACCOUNTS]


def seed_account(alias: str) -> dict:
    """A private copy of the seeded account with this alias."""
    for account in SEED_ACCOUNTS:
        if account["alias"] == alias:
            return copy.deepcopy(account)
    raise KeyError(alias)


def seed_identifier(alias: str) -> dict:
    """The API ``Identifiant`` of a seeded account (``{"nir": ...}`` or ``{"siret": ...}``)."""
    account = seed_account(alias)
    field = "nir" if account.get("nir") else "siret"
    return {field: account[field]}


def synthetic_siret(index: int) -> str:
    """A valid SIRET, distinct for each ``index`` (0..9 999 999), for bulk test accounts."""
    siren = f"7{index:07d}"
    siren += luhn.calc_check_digit(siren)
    establishment = siren + "0001"
    return establishment + luhn.calc_check_digit(establishment)


def synthetic_nir(index: int) -> str:
    """A valid NIR, distinct for each ``index`` (0..999 999), for bulk test accounts."""
    body = f"1900175{index // 1000:03d}{index % 1000:03d}"
    return body + stdnum_nir.calc_check_digits(body)


_CATEGORY_LABELS = {
    "VENTE_MARCHANDISES": "ventes",
    "PRESTATION_SERVICES_BIC": "services BIC",
    "PRESTATION_SERVICES_BNC": "services BNC",
    "PRESTATION_SERVICES_BNC_CIPAV": "BNC CIPAV",
}


def seed_table_rst() -> str:
    """The seeded accounts as an RST grid table (for the README)."""
    header = ["Alias", "Identifiant", "Nom", "Périodicité", "Début", "Catégories", "Rôle"]
    rows = []
    for account in SEED_ACCOUNTS:
        identifier = f"NIR {account['nir']}" if account.get("nir") else f"SIRET {account['siret']}"
        rows.append(
            [
                account["alias"],
                identifier,
                f"{account['prenoms']} {account['nom']}",
                account["periodicite"].lower(),
                account["dateDebutActivite"],
                ", ".join(_CATEGORY_LABELS[category] for category in account["categories"]),
                account["role"],
            ]
        )
    widths = [max(len(row[column]) for row in [header] + rows) for column in range(len(header))]

    def border(char):
        return "+" + "+".join(char * (width + 2) for width in widths) + "+"

    def line(cells):
        return "|" + "|".join(f" {cell.ljust(width)} " for cell, width in zip(cells, widths, strict=True)) + "|"

    output = [border("-"), line(header), border("=")]
    for row in rows:
        output += [line(row), border("-")]
    return "\n".join(output) + "\n"
