"""Plain Python values exchanged with the Urssaf client.

Amounts are :class:`~decimal.Decimal`, dates :class:`~datetime.date`,
timestamps :class:`~datetime.datetime`. Every result carries the
``correlation_id`` of the exchange that produced it (not part of equality).
The ``repr`` of a value never shows a NIR or a full IBAN.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from .masking import mask_iban, mask_nir
from .validation import validate_identifier


@dataclass(frozen=True)
class Identifier:
    """An auto-entrepreneur, by NIR or by SIRET (exactly one).

    Built values are checked and compacted: ``Identifier(nir="1 85 05 ...")``
    raises :class:`~.exceptions.UrssafValidationError` when invalid.
    """

    nir: str | None = None
    siret: str | None = None

    def __post_init__(self):
        nir, siret = validate_identifier(self.nir, self.siret)
        object.__setattr__(self, "nir", nir)
        object.__setattr__(self, "siret", siret)

    def as_dict(self):
        """``{"nir": ...}`` or ``{"siret": ...}``: query string and
        ``identifiant`` body member alike."""
        return {"nir": self.nir} if self.nir else {"siret": self.siret}

    def __repr__(self):
        if self.nir:
            return f"Identifier(nir={mask_nir(self.nir)!r})"
        return f"Identifier(siret={self.siret!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def as_dict(self):
        return {"dateDebut": self.start.isoformat(), "dateFin": self.end.isoformat()}


@dataclass(frozen=True)
class Mandate:
    """The third-party declaration mandate Urssaf knows (``Mandat``)."""

    mandate_id: str
    status: str  # ACTIF or TERMINE
    effective_date: date | None = None
    end_date: date | None = None
    correlation_id: str | None = field(default=None, compare=False)

    @property
    def is_active(self):
        return self.status == "ACTIF"


@dataclass(frozen=True)
class Account:
    """``Compte``: eligibility and periodicity of an auto-entrepreneur."""

    identifier: Identifier
    eligible: bool
    periodicity: str  # MENSUELLE or TRIMESTRIELLE
    ineligibility_reason: str | None = None
    activity_start: date | None = None
    categories: tuple[str, ...] = ()
    versement_liberatoire: bool | None = None
    mandate: Mandate | None = None
    correlation_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ContributionLine:
    """``LigneCotisation``; same fields as ``contributions.ContributionLine``
    so that local and Urssaf figures can be handled alike."""

    category: str
    label: str
    base: Decimal
    rate: Decimal  # percent
    amount: Decimal


@dataclass(frozen=True)
class Estimate:
    """``Estimation``: contributions due for a period's turnover."""

    period: Period
    lines: tuple[ContributionLine, ...]
    total: Decimal
    correlation_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Declaration:
    """``Declaration`` as recorded by Urssaf."""

    number: str
    period: Period
    total: Decimal
    status: str  # DECLAREE, PAYEE_PARTIELLEMENT or PAYEE
    reference_tiers: str | None = None
    declared_at: datetime | None = None
    due_date: date | None = None
    turnover: tuple[tuple[str, Decimal], ...] = ()  # (category, amount)
    lines: tuple[ContributionLine, ...] = ()
    remaining_due: Decimal | None = None
    correlation_id: str | None = field(default=None, compare=False)

    @property
    def turnover_by_category(self):
        return dict(self.turnover)

    @property
    def is_paid(self):
        return self.status == "PAYEE"


@dataclass(frozen=True)
class Payment:
    """``Paiement``: a SEPA tele-payment order."""

    reference: str
    declaration_number: str
    amount: Decimal
    status: str  # ENREGISTRE or REJETE
    debit_date: date | None = None
    correlation_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SepaMandate:
    """``MandatSepa``; ``iban`` is as Urssaf returned it (masked in lists)."""

    rum: str
    iban: str
    status: str  # ACTIF or REVOQUE
    bic: str | None = None
    holder: str | None = None
    signature_date: date | None = None
    correlation_id: str | None = field(default=None, compare=False)

    @property
    def is_active(self):
        return self.status == "ACTIF"

    @property
    def iban_last4(self):
        return self.iban[-4:] if self.iban else ""

    def __repr__(self):
        return (
            f"SepaMandate(rum={self.rum!r}, iban={mask_iban(self.iban)!r}, "
            f"status={self.status!r}, bic={self.bic!r}, holder={self.holder!r}, "
            f"signature_date={self.signature_date!r})"
        )


@dataclass(frozen=True)
class TokenInfo:
    """What "Test connection" shows of a granted token (never the token)."""

    token_type: str
    expires_in: int
    scope: str | None = None
    correlation_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Acknowledgement:
    """Result of an operation Urssaf answers with no body (204)."""

    status: int
    correlation_id: str | None = field(default=None, compare=False)


class ResultList(list):
    """A list result that also carries the exchange's ``correlation_id``."""

    def __init__(self, items=(), correlation_id=None):
        super().__init__(items)
        self.correlation_id = correlation_id
