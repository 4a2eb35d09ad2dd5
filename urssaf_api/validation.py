"""Checks applied to every value before the client sends anything.

Each validator returns the value in the form the API expects (compact NIR,
quantised Decimal...) or raises :class:`UrssafValidationError` naming the
contract's field and a reason code (see :mod:`.exceptions`); neither its
text nor its ``params`` ever repeat a NIR or an IBAN.
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
    """The :data:`~.exceptions.VALIDATION_REASONS` code of a stdnum error."""
    if isinstance(error, InvalidChecksum):
        return "checksum"
    if isinstance(error, InvalidLength):
        return "length"
    return "format"


def _text_given(value, field):
    """Refuse a missing, blank or non-text value (``required``/``not_text``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise UrssafValidationError(field, "required")
    if not isinstance(value, str):
        raise UrssafValidationError(field, "not_text")
    return value


def validate_nir(value, field="nir"):
    """Return the compact 15-character NIR (Corsica ``2A``/``2B`` kept)."""
    compact = stdnum_nir.compact(_text_given(value, field))
    try:
        stdnum_nir.validate(compact)
    except ValidationError as error:
        raise UrssafValidationError(field, _stdnum_reason(error)) from None
    if not _NIR_PATTERN.match(compact):
        raise UrssafValidationError(field, "format")
    return compact


def validate_siret(value, field="siret"):
    """Return the compact 14-digit, Luhn-valid SIRET."""
    try:
        return stdnum_siret.validate(_text_given(value, field))
    except ValidationError as error:
        raise UrssafValidationError(field, _stdnum_reason(error)) from None


def validate_identifier(nir, siret):
    """Exactly one of *nir* / *siret*; return the compact pair."""
    if (nir is None) == (siret is None):
        raise UrssafValidationError("identifiant", "identifier_choice")
    if nir is not None:
        return validate_nir(nir), None
    return None, validate_siret(siret)


def validate_iban(value, field="iban"):
    """Return the compact, upper-case, checksum-valid IBAN."""
    try:
        return stdnum_iban.validate(_text_given(value, field))
    except ValidationError as error:
        raise UrssafValidationError(field, _stdnum_reason(error)) from None


def validate_bic(value, field="bic"):
    """Return the compact BIC, or None when not given."""
    if value is None:
        return None
    try:
        return stdnum_bic.validate(_text_given(value, field))
    except ValidationError as error:
        raise UrssafValidationError(field, _stdnum_reason(error)) from None


def validate_amount(value, field, minimum=Decimal("0")):
    """Return *value* as a Decimal with exactly two decimals.

    Accepts Decimal, int, str and float; a float is read through its shortest
    representation, so ``0.1 + 0.2`` (0.30000000000000004) is refused rather
    than silently rounded. Refuses bool, NaN, infinities, more than two
    decimals, values under *minimum* and absurdly large values.
    """
    if value is None:
        raise UrssafValidationError(field, "required")
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise UrssafValidationError(field, "not_a_number")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise UrssafValidationError(field, "not_a_number") from None
    if not amount.is_finite():
        raise UrssafValidationError(field, "not_finite")
    if amount < minimum:
        raise UrssafValidationError(field, "below_minimum", {"minimum": minimum})
    if amount >= MAX_AMOUNT:
        raise UrssafValidationError(field, "too_large", {"maximum": MAX_AMOUNT})
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise UrssafValidationError(field, "too_many_decimals")
    return amount.quantize(CENT)


def validate_date(value, field):
    """A :class:`datetime.date` (a datetime is refused: dates only)."""
    if value is None:
        raise UrssafValidationError(field, "required")
    if not isinstance(value, date) or isinstance(value, datetime):
        raise UrssafValidationError(field, "not_a_date")
    return value


def validate_optional_date(value, field):
    return None if value is None else validate_date(value, field)


def validate_period(start, end):
    """Return ``(start, end)``, two dates with start <= end."""
    validate_date(start, "periode.dateDebut")
    validate_date(end, "periode.dateFin")
    if start > end:
        raise UrssafValidationError("periode.dateFin", "period_reversed")
    return start, end


def validate_category(value, field="chiffresAffaires.categorie"):
    if value not in CATEGORIES:
        raise UrssafValidationError(field, "unknown_category", {"allowed": CATEGORIES})
    return value


def validate_turnover(turnover):
    """Mapping category -> amount; return a tuple of ``(category, Decimal)``
    in the contract's category order (an empty mapping declares zero)."""
    if not hasattr(turnover, "items"):
        raise UrssafValidationError("chiffresAffaires", "not_a_mapping")
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
    _text_given(value, field)
    if len(value) > max_length:
        raise UrssafValidationError(field, "too_long", {"max_length": max_length})
    if any(ord(ch) < 32 for ch in value):
        raise UrssafValidationError(field, "control_characters")
    return value


def validate_reference_tiers(value, field="referenceTiers"):
    """The caller's own reference of a declaration, 1 to 64 characters."""
    return validate_text(value, field, max_length=REFERENCE_MAX_LENGTH)


def validate_reference(value, field):
    """An Urssaf reference used in a path or a body (mandate id, RUM,
    declaration number)."""
    return validate_text(value, field, max_length=REFERENCE_MAX_LENGTH)
