"""Errors raised by the Urssaf client.

Every error is a :class:`UrssafError` whose ``str()`` is a French sentence an
accountant can act on: what Urssaf said, its code, what to do, and the
correlation id to quote to Urssaf support. All texts pass through
:func:`~.masking.redact`, so no NIR, IBAN, secret or token shows in clear.

    UrssafError
    ├── UrssafValidationError      bad input, raised before any HTTP call
    ├── UrssafTransportError       connection, time-out, non-JSON or HTML answer
    ├── UrssafOutcomeUnknown       a declaration/payment/... may or may not be recorded
    └── UrssafApiError             Urssaf answered with an error (JSON ``Erreurs``)
        ├── UrssafBadRequestError        400
        ├── UrssafAuthError              401 (and token endpoint refusals)
        ├── UrssafForbiddenError         403
        ├── UrssafNotFoundError          404
        ├── UrssafConflictError          409
        │   ├── DeclarationAlreadyExists     ER_API_DECLARATION_EXISTANTE
        │   └── PaymentAlreadyExists         ER_API_PAIEMENT_EXISTANT
        ├── UrssafBusinessError          422
        ├── UrssafRateLimitedError       429
        └── UrssafServerError            5xx
"""

import json
import re
from dataclasses import dataclass

from .masking import redact

# What to do about each error code of the contract (and of the OAuth2 token
# endpoint), in a few words.
CODE_HINTS = {
    "ER_API_MANDAT_AUTRE_TIERS": (
        "Un autre tiers-déclarant détient le mandat de cet auto-entrepreneur : "
        "il doit y mettre fin avant que vous puissiez enregistrer le vôtre."
    ),
    "ER_API_MANDAT_ABSENT": ("Enregistrez d'abord auprès de l'Urssaf le mandat signé par l'auto-entrepreneur."),
    "ER_API_DECLARATION_EXISTANTE": (
        "Cette période est déjà déclarée : rattachez la déclaration existante au lieu d'en envoyer une nouvelle."
    ),
    "ER_API_PERIODE_NON_ECHUE": "Attendez la fin de la période pour la déclarer.",
    "ER_API_PERIODE_INVALIDE": (
        "Vérifiez les dates : la période doit suivre la périodicité (mensuelle "
        "ou trimestrielle) du compte de l'auto-entrepreneur."
    ),
    "ER_API_MANDAT_SEPA_ABSENT": ("Enregistrez un mandat de prélèvement SEPA pour cet IBAN avant de payer."),
    "ER_API_MONTANT_INVALIDE": (
        "Le montant dépasse le reste dû : consultez la déclaration pour connaître le montant restant à payer."
    ),
    "ER_API_PAIEMENT_EXISTANT": ("Cette déclaration est déjà payée : aucun nouveau paiement n'est nécessaire."),
    "ERREUR_TECHNIQUE": (
        "Réessayez plus tard ; si l'erreur persiste, contactez l'Urssaf en citant l'identifiant de corrélation."
    ),
    "ER_API_REFERENCE_TIERS_EXISTANTE": (
        "Cette référence a déjà servi pour une autre déclaration : utilisez une référence unique par déclaration."
    ),
    "ER_API_CATEGORIE_NON_AUTORISEE": (
        "Vérifiez la catégorie du chiffre d'affaires : le compte n'exerce pas cette activité à l'Urssaf."
    ),
    "ER_API_COMPTE_INCONNU": ("Vérifiez le NIR ou le SIRET de l'auto-entrepreneur."),
    "ER_API_COMPTE_NON_ELIGIBLE": (
        "Cet auto-entrepreneur ne peut pas être déclaré par un tiers : il "
        "déclare lui-même sur autoentrepreneur.urssaf.fr."
    ),
    "ER_API_IDENTITE_INCOHERENTE": (
        "Corrigez le nom, les prénoms ou la date de naissance pour qu'ils correspondent à ceux connus de l'Urssaf."
    ),
    "ER_API_DATE_SIGNATURE_INVALIDE": "Vérifiez la date de signature du mandat.",
    "ER_API_DATE_PRELEVEMENT_INVALIDE": (
        "Choisissez une date de prélèvement qui n'est pas passée, ou laissez l'Urssaf prélever à l'échéance."
    ),
    "ER_API_DECLARATION_INCONNUE": "Vérifiez le numéro de la déclaration à payer.",
    "ER_API_MANDAT_INCONNU": (
        "Ce mandat n'existe pas ou n'est pas le vôtre : consultez le compte de l'auto-entrepreneur."
    ),
    "ER_API_MANDAT_SEPA_INCONNU": (
        "Ce mandat SEPA n'existe pas ou n'est plus actif : consultez la liste des mandats SEPA."
    ),
    "ER_API_MANDAT_SEPA_EXISTANT": ("Un mandat SEPA est déjà actif pour cet IBAN : réutilisez-le."),
    "ER_API_JETON_EXPIRE": "Le jeton a expiré : recommencez.",
    "ER_API_JETON_INVALIDE": (
        "Le jeton a été refusé : vérifiez l'identifiant client et le secret OAuth2 configurés pour l'API."
    ),
    "invalid_client": ("Vérifiez l'identifiant client et le secret OAuth2 configurés pour l'API."),
    "invalid_scope": "Vérifiez le scope configuré pour l'API (tiersdecl.ae par défaut).",
    "unauthorized_client": (
        "Ce client OAuth2 n'est pas autorisé à utiliser l'API : vérifiez l'habilitation obtenue auprès de l'Urssaf."
    ),
}

# What to do by status family, when the code itself is unknown.
STATUS_HINTS = {
    400: "La requête est mal formée : signalez-le à l'éditeur du logiciel.",
    401: "Vérifiez l'identifiant client et le secret OAuth2 configurés pour l'API.",
    403: "Vérifiez que vous détenez le mandat de cet auto-entrepreneur.",
    404: "Vérifiez l'identifiant (NIR ou SIRET) ou la référence utilisée.",
    409: "L'opération a déjà été enregistrée par l'Urssaf.",
    422: "Corrigez les données signalées puis recommencez.",
    429: "Trop d'appels : réessayez dans quelques instants.",
    500: CODE_HINTS["ERREUR_TECHNIQUE"],
}

# French label of each client operation, used in messages.
OPERATION_LABELS = {
    "fetch_token": "la demande de jeton d'accès",
    "get_account": "la consultation du compte",
    "register_mandate": "l'enregistrement du mandat",
    "end_mandate": "la fin du mandat",
    "estimate": "l'estimation des cotisations",
    "declare": "la déclaration",
    "find_declarations": "la recherche des déclarations",
    "pay": "le paiement",
    "list_sepa_mandates": "la consultation des mandats SEPA",
    "register_sepa_mandate": "l'enregistrement du mandat SEPA",
    "revoke_sepa_mandate": "la révocation du mandat SEPA",
}


def operation_label(operation):
    return OPERATION_LABELS.get(operation, "l'appel à l'API")


def _correlation_sentence(correlation_id):
    if not correlation_id:
        return ""
    return f" Identifiant de corrélation : {correlation_id}."


class UrssafError(Exception):
    """Base of the client's errors; ``str()`` is the French message."""

    def __init__(self, message, *, correlation_id=None, operation=None):
        self.message = redact(message)
        self.correlation_id = correlation_id
        self.operation = operation
        super().__init__(self.message)

    def __str__(self):
        return self.message


class UrssafValidationError(UrssafError, ValueError):
    """A value given to the client is not acceptable; nothing was sent.

    ``field`` is the contract's name of the field, e.g. ``"nir"`` or
    ``"chiffresAffaires[VENTE_MARCHANDISES].montant"``.
    """

    def __init__(self, field, message):
        self.field = field
        self.reason = redact(message)
        super().__init__(f"Donnée invalide ({field}) : {message}")


class UrssafTransportError(UrssafError):
    """No usable answer: connection refused or lost, time-out, redirection,
    or an answer that is not the expected JSON (HTML error page, truncated
    body). ``status`` is the HTTP status when an answer came at all."""

    def __init__(self, message, *, status=None, correlation_id=None, operation=None):
        self.status = status
        super().__init__(
            message + _correlation_sentence(correlation_id),
            correlation_id=correlation_id,
            operation=operation,
        )


class UrssafOutcomeUnknown(UrssafError):
    """A write (declaration, payment...) was sent but its outcome is unknown.

    It must not be sent again blindly. Settle it first:

    - a declaration: ``client.find_declaration_by_reference(identifier,
      error.reference_tiers)`` returns it if Urssaf recorded it, else None;
    - a payment: ``client.find_declaration_by_number(identifier,
      error.declaration_number)`` (or ``find_declarations``) and compare its
      ``remaining_due``/``status`` with what they were before paying: if the
      amount left to pay dropped by ``error.amount`` (or the status became
      PAYEE) the payment was recorded; paying again would get 409
      ER_API_PAIEMENT_EXISTANT once the declaration is fully paid;
    - a mandate end: ``get_account`` shows whether the mandate is still active;
    - a SEPA mandate: ``list_sepa_mandates`` shows it if it was recorded.

    ``cause`` is the underlying error (time-out, 5xx...).
    """

    def __init__(
        self,
        operation,
        *,
        correlation_id=None,
        cause=None,
        reference_tiers=None,
        declaration_number=None,
        amount=None,
    ):
        self.cause = cause
        self.reference_tiers = reference_tiers
        self.declaration_number = declaration_number
        self.amount = amount
        label = operation_label(operation)
        detail = f" ({cause})" if cause is not None else ""
        if operation == "declare":
            what = f"référence {reference_tiers}"
            settle = (
                "Ne la renvoyez pas : recherchez-la d'abord par sa référence pour savoir si l'Urssaf l'a enregistrée."
            )
        elif operation == "pay":
            what = f"déclaration {declaration_number}, montant {amount} €"
            settle = (
                "Ne le renvoyez pas : consultez d'abord la déclaration (reste dû "
                "et statut) pour savoir si l'Urssaf l'a enregistré."
            )
        else:
            what = ""
            settle = "Vérifiez l'état auprès de l'Urssaf avant de recommencer."
        what = f" ({what})" if what else ""
        message = (
            f"Issue inconnue pour {label}{what} : la demande est partie mais la "
            f"réponse de l'Urssaf n'a pas pu être lue{detail}. {settle}"
        )
        super().__init__(
            message + _correlation_sentence(correlation_id),
            correlation_id=correlation_id,
            operation=operation,
        )


@dataclass(frozen=True)
class ErrorDetail:
    """One item of Urssaf's error array (``Erreur``)."""

    code: str | None
    message: str | None
    description: str | None = None


_LEADS = {
    400: "Urssaf rejette la requête pour {label}",
    401: "Urssaf refuse l'authentification pour {label}",
    403: "Urssaf refuse {label}",
    404: "Urssaf ne trouve pas l'élément demandé pour {label}",
    409: "Urssaf refuse {label}",
    422: "Urssaf refuse {label}",
    429: "Urssaf limite le nombre d'appels ({label})",
}


def _lead(status, operation):
    label = operation_label(operation)
    if status is not None and status >= 500:
        return f"Urssaf a rencontré une erreur technique pendant {label}"
    template = _LEADS.get(status, "Urssaf a répondu par une erreur pour {label}")
    return template.format(label=label)


def _lowercase_first(text):
    if text and text[0].isupper() and not text[:2].isupper():
        return text[0].lower() + text[1:]
    return text


class UrssafApiError(UrssafError):
    """Urssaf answered an error. Attributes:

    ``status`` (HTTP), ``code`` (e.g. ``ER_API_PERIODE_NON_ECHUE``),
    ``urssaf_message`` and ``description`` (Urssaf's own words, redacted),
    ``errors`` (all :class:`ErrorDetail` items, the first one gives ``code``),
    ``hint`` (what to do, French), ``correlation_id``.
    ``message``/``str()`` combine them into one French sentence.
    """

    def __init__(
        self,
        status,
        code=None,
        message=None,
        description=None,
        correlation_id=None,
        errors=(),
        *,
        operation=None,
    ):
        self.status = status
        self.code = code
        self.urssaf_message = redact(message)
        self.description = redact(description)
        self.errors = tuple(
            ErrorDetail(detail.code, redact(detail.message), redact(detail.description)) for detail in errors
        ) or ((ErrorDetail(code, self.urssaf_message, self.description),) if code else ())
        self.hint = CODE_HINTS.get(code) or STATUS_HINTS.get(500 if status and status >= 500 else status, "")
        said = _lowercase_first((message or "").strip().rstrip("."))
        text = _lead(status, operation)
        if said and code:
            text += f" : {said} ({code})."
        elif said or code:
            text += f" : {said or code}."
        else:
            text += f" (HTTP {status})."
        explanation = self._explanation(description, message)
        if explanation:
            text += f" {explanation}"
        if self.hint:
            text += f" {self.hint}"
        super().__init__(
            text + _correlation_sentence(correlation_id),
            correlation_id=correlation_id,
            operation=operation,
        )

    def _explanation(self, description, message):
        """Urssaf's ``description`` as a sentence, unless it repeats ``message``."""
        explained = (description or "").strip()
        if not explained or explained == (message or "").strip():
            return ""
        explained = explained[0].upper() + explained[1:]
        return explained if explained.endswith((".", "!", "?")) else explained + "."


class UrssafBadRequestError(UrssafApiError):
    """400: the request is malformed (a client defect)."""


class UrssafAuthError(UrssafApiError):
    """401, or the token endpoint refused the credentials."""


class UrssafForbiddenError(UrssafApiError):
    """403: typically ER_API_MANDAT_ABSENT."""


class UrssafNotFoundError(UrssafApiError):
    """404: unknown account, mandate or declaration."""


class UrssafConflictError(UrssafApiError):
    """409: already exists or held by someone else. ``existing_reference`` is
    the existing object's reference Urssaf gives in ``description`` (a
    declaration number, payment reference or RUM), if any."""

    def __init__(self, *args, **kwargs):
        raw_description = kwargs.get("description") or (args[3] if len(args) > 3 else None)
        self.existing_reference = _existing_reference(raw_description, self.reference_key)
        super().__init__(*args, **kwargs)

    reference_key = "reference"

    def _explanation(self, description, message):
        if self.existing_reference and (description or "").strip() == self.existing_reference:
            return f"Référence existante : {self.existing_reference}."
        return super()._explanation(description, message)


def _existing_reference(description, json_key):
    """Pull the existing number out of a 409 ``description``.

    Urssaf's wording is free text; accept a bare reference, a JSON object,
    ``key: value``/``key=value`` or the last token that contains a digit.
    """
    if not description:
        return None
    text = description.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get(json_key):
        return str(parsed[json_key])
    if isinstance(parsed, (str, int)) and str(parsed).strip():
        return str(parsed).strip()
    keyed = re.search(rf"{json_key}\W+([\w./-]+)", text, re.IGNORECASE)
    if keyed:
        return keyed.group(1).rstrip(".")
    tokens = [t.strip(".,;:()[]'\"") for t in text.split()]
    with_digits = [t for t in tokens if any(ch.isdigit() for ch in t)]
    return with_digits[-1] if with_digits else None


class DeclarationAlreadyExists(UrssafConflictError):
    """409 ER_API_DECLARATION_EXISTANTE: the period is already declared;
    ``declaration_number`` is the existing ``numeroDeclaration``."""

    reference_key = "numeroDeclaration"

    @property
    def declaration_number(self):
        return self.existing_reference


class PaymentAlreadyExists(UrssafConflictError):
    """409 ER_API_PAIEMENT_EXISTANT: the declaration is already paid;
    ``payment_reference`` is the existing ``referencePaiement``."""

    reference_key = "referencePaiement"

    @property
    def payment_reference(self):
        return self.existing_reference


class UrssafBusinessError(UrssafApiError):
    """422: a business rule refused the request."""


class UrssafRateLimitedError(UrssafApiError):
    """429 still answered after the retries; ``retry_after`` in seconds."""

    def __init__(self, *args, retry_after=None, **kwargs):
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class UrssafServerError(UrssafApiError):
    """5xx with a JSON error body (code ERREUR_TECHNIQUE)."""


_BY_STATUS = {
    400: UrssafBadRequestError,
    401: UrssafAuthError,
    403: UrssafForbiddenError,
    404: UrssafNotFoundError,
    409: UrssafConflictError,
    422: UrssafBusinessError,
    429: UrssafRateLimitedError,
}
_BY_CODE = {
    "ER_API_DECLARATION_EXISTANTE": DeclarationAlreadyExists,
    "ER_API_PAIEMENT_EXISTANT": PaymentAlreadyExists,
}


def api_error_class(status, code=None):
    """The most specific :class:`UrssafApiError` subclass for an answer."""
    if status == 409:
        return _BY_CODE.get(code, UrssafConflictError)
    if status >= 500:
        return UrssafServerError
    return _BY_STATUS.get(status, UrssafApiError)
