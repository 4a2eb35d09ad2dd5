"""Checks applied to every value before the client sends anything.

Each validator returns the value in the form the API expects (compact NIR,
quantised Decimal...) or raises :class:`UrssafValidationError` naming the
contract's field. Messages never repeat a NIR or an IBAN.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidLength,
    ValidationError,
)
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

from .exceptions import UrssafValidationError

CATEGORIES = (
    "VENTE_MARCHANDISES",
    "PRESTATION_SERVICES_BIC",
    "PRESTATION_SERVICES_BNC",
    "PRESTATION_SERVICES_BNC_CIPAV",
)
CENT = Decimal("0.01")
# Far above any micro-entrepreneur figure; keeps amounts exact as JSON numbers.
MAX_AMOUNT = Decimal("1000000000")
REFERENCE_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 70  # SEPA's limit for a holder's name, ample for names

# The contract's pattern (sex 1/2, month 01-12 or 20-99, Corsica 2A/2B).
_NIR_PATTERN = re.compile(r"^[12][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])(2[AB]|[0-9]{2})[0-9]{6}[0-9]{2}$")


def _stdnum_reason(error):
    if isinstance(error, InvalidChecksum):
        return "la clé de contrôle ne correspond pas"
    if isinstance(error, InvalidLength):
        return "la longueur n'est pas la bonne"
    return "le format n'est pas le bon"


def validate_nir(value, field="nir"):
    """Return the compact 15-character NIR (Corsica ``2A``/``2B`` kept)."""
    if not isinstance(value, str) or not value.strip():
        raise UrssafValidationError(field, "le NIR doit être une chaîne de 15 caractères.")
    compact = stdnum_nir.compact(value)
    try:
        stdnum_nir.validate(compact)
    except ValidationError as error:
        raise UrssafValidationError(field, f"le NIR n'est pas valide : {_stdnum_reason(error)}.") from None
    if not _NIR_PATTERN.match(compact):
        raise UrssafValidationError(field, "le NIR n'est pas valide : le format n'est pas le bon.")
    return compact


def validate_siret(value, field="siret"):
    """Return the compact 14-digit, Luhn-valid SIRET."""
    if not isinstance(value, str) or not value.strip():
        raise UrssafValidationError(field, "le SIRET doit être une chaîne de 14 chiffres.")
    try:
        return stdnum_siret.validate(value)
    except ValidationError as error:
        raise UrssafValidationError(field, f"le SIRET n'est pas valide : {_stdnum_reason(error)}.") from None


def validate_identifier(nir, siret):
    """Exactly one of *nir* / *siret*; return the compact pair."""
    if (nir is None) == (siret is None):
        raise UrssafValidationError("identifiant", "indiquez soit le NIR, soit le SIRET (un seul des deux).")
    if nir is not None:
        return validate_nir(nir), None
    return None, validate_siret(siret)


def validate_iban(value, field="iban"):
    """Return the compact, upper-case, checksum-valid IBAN."""
    if not isinstance(value, str) or not value.strip():
        raise UrssafValidationError(field, "l'IBAN doit être une chaîne de caractères.")
    try:
        return stdnum_iban.validate(value)
    except ValidationError as error:
        raise UrssafValidationError(field, f"l'IBAN n'est pas valide : {_stdnum_reason(error)}.") from None


def validate_bic(value, field="bic"):
    """Return the compact BIC, or None when not given."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UrssafValidationError(field, "le BIC doit être une chaîne de caractères.")
    try:
        return stdnum_bic.validate(value)
    except ValidationError:
        raise UrssafValidationError(field, "le BIC n'est pas valide.") from None


def validate_amount(value, field, minimum=Decimal("0")):
    """Return *value* as a Decimal with exactly two decimals.

    Accepts Decimal, int, str and float; a float is read through its shortest
    representation, so ``0.1 + 0.2`` (0.30000000000000004) is refused rather
    than silently rounded. Refuses bool, NaN, infinities, more than two
    decimals, values under *minimum* and absurdly large values.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise UrssafValidationError(field, "le montant doit être un nombre décimal.")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise UrssafValidationError(field, "le montant n'est pas un nombre.") from None
    if not amount.is_finite():
        raise UrssafValidationError(field, "le montant doit être un nombre fini.")
    if amount < minimum:
        raise UrssafValidationError(field, f"le montant doit être supérieur ou égal à {minimum} €.")
    if amount >= MAX_AMOUNT:
        raise UrssafValidationError(field, "le montant est anormalement élevé.")
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise UrssafValidationError(field, "le montant a plus de deux décimales.")
    return amount.quantize(CENT)


def validate_date(value, field):
    """A :class:`datetime.date` (a datetime is refused: dates only)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise UrssafValidationError(field, "une date (sans heure) est attendue.")
    return value


def validate_optional_date(value, field):
    return None if value is None else validate_date(value, field)


def validate_period(start, end):
    """Return ``(start, end)``, two dates with start <= end."""
    validate_date(start, "periode.dateDebut")
    validate_date(end, "periode.dateFin")
    if start > end:
        raise UrssafValidationError("periode.dateFin", "la fin de la période précède son début.")
    return start, end


def validate_category(value, field="chiffresAffaires.categorie"):
    if value not in CATEGORIES:
        raise UrssafValidationError(
            field,
            "catégorie inconnue ; valeurs possibles : " + ", ".join(CATEGORIES) + ".",
        )
    return value


def validate_turnover(turnover):
    """Mapping category -> amount; return a tuple of ``(category, Decimal)``
    in the contract's category order (an empty mapping declares zero)."""
    if not hasattr(turnover, "items"):
        raise UrssafValidationError("chiffresAffaires", "un dictionnaire catégorie -> montant est attendu.")
    amounts = {}
    for category, amount in turnover.items():
        validate_category(category)
        amounts[category] = validate_amount(amount, f"chiffresAffaires[{category}].montant")
    return tuple((category, amounts[category]) for category in CATEGORIES if category in amounts)


def validate_text(value, field, *, required=True, max_length=TEXT_MAX_LENGTH):
    """A non-blank string of at most *max_length* characters (or None when
    not *required*)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UrssafValidationError(field, "une valeur non vide est attendue.")
    if len(value) > max_length:
        raise UrssafValidationError(field, f"la valeur dépasse {max_length} caractères.")
    if any(ord(ch) < 32 for ch in value):
        raise UrssafValidationError(field, "la valeur contient des caractères de contrôle.")
    return value


def validate_reference_tiers(value, field="referenceTiers"):
    """The caller's own reference of a declaration, 1 to 64 characters."""
    return validate_text(value, field, max_length=REFERENCE_MAX_LENGTH)


def validate_reference(value, field):
    """An Urssaf reference used in a path or a body (mandate id, RUM,
    declaration number)."""
    return validate_text(value, field, max_length=REFERENCE_MAX_LENGTH)
