"""Errors raised by the Urssaf client: data first, an English sentence second.

Every error is a :class:`UrssafError` carrying what happened as attributes,
so that a caller (the Odoo layer) words it in the user's language from a
closed set of codes. ``str()`` is a plain English sentence built from the
same data, for use outside Odoo (command line, logs); it names Urssaf's
code and the correlation id to quote to Urssaf support. Every text passes
through :func:`~.masking.redact`: no NIR, IBAN, secret or token in clear.

    UrssafError                    operation, correlation_id
    ├── UrssafValidationError      field, reason, params; nothing was sent
    ├── UrssafTransportError       kind, status, field; no usable answer
    ├── UrssafOutcomeUnknown       reference_tiers, declaration_number, amount, cause
    └── UrssafApiError             status, code, urssaf_message, description, errors, hint
        ├── UrssafBadRequestError        400
        ├── UrssafAuthError              401 (and token endpoint refusals)
        ├── UrssafForbiddenError         403
        ├── UrssafNotFoundError          404
        ├── UrssafConflictError          409; existing_reference
        │   ├── DeclarationAlreadyExists     ER_API_DECLARATION_EXISTANTE; declaration_number
        │   └── PaymentAlreadyExists         ER_API_PAIEMENT_EXISTANT; payment_reference
        ├── UrssafBusinessError          422
        ├── UrssafRateLimitedError       429; retry_after (seconds)
        └── UrssafServerError            5xx

Attributes of every error:

- ``operation``: the client operation, one of :data:`OPERATIONS`, or None
  (a value checked outside any call, e.g. building an ``Identifier``);
- ``correlation_id``: the ``x-correlationid`` of the exchange, or None when
  nothing was sent.

:class:`UrssafValidationError` (a value refused before sending anything):

- ``field``: the contract's name of the field (``"nir"``, ``"montant"``,
  ``"chiffresAffaires[VENTE_MARCHANDISES].montant"``...) or of the client
  setting (``"base_url"``, ``"client_id"``, ``"client_secret"``);
- ``reason``: one of :data:`VALIDATION_REASONS`;
- ``params``: a dict completing some reasons, never holding the refused
  value: ``below_minimum`` -> ``minimum`` (Decimal), ``too_large`` ->
  ``maximum`` (Decimal), ``too_long`` -> ``max_length`` (int),
  ``unknown_category`` -> ``allowed`` (tuple of categories); else empty.

:class:`UrssafTransportError` (no usable answer):

- ``kind``: one of :data:`TRANSPORT_KINDS`; those of
  :data:`NOTHING_SENT_KINDS` mean the request never left
  (``nothing_sent``);
- ``status``: the HTTP status when an answer came at all, else None;
- ``field``: for ``invalid_answer``, the contract field found missing or
  malformed in the answer (None when the answer as a whole was not the
  object or list expected).

:class:`UrssafApiError` (Urssaf answered with its JSON ``Erreurs``):

- ``status`` (HTTP), ``code`` (Urssaf's code of the first error, e.g.
  ``ER_API_PERIODE_NON_ECHUE``; see :data:`KNOWN_CODES`), ``urssaf_message``
  and ``description`` (Urssaf's own words, kept as received, redacted),
  ``errors`` (every :class:`ErrorDetail`), ``hint`` (optional English
  guidance, empty when none).

:class:`UrssafOutcomeUnknown` (a write was sent, its answer was lost):

- ``reference_tiers`` (declare), ``declaration_number`` and ``amount``
  (pay), None otherwise; ``cause``: the :class:`UrssafTransportError` or
  :class:`UrssafApiError` (5xx) that hid the outcome.

Urssaf does not publish its list of codes: a code outside
:data:`KNOWN_CODES` may come; a caller then words it by ``status``.
"""

import json
import re
from dataclasses import dataclass

from .masking import redact

# The client's operations, as ``UrssafError.operation`` names them.
OPERATIONS = (
    "fetch_token",
    "get_account",
    "register_mandate",
    "end_mandate",
    "estimate",
    "declare",
    "find_declarations",
    "pay",
    "list_sepa_mandates",
    "register_sepa_mandate",
    "revoke_sepa_mandate",
)

# ``UrssafTransportError.kind``.
TRANSPORT_KINDS = (
    "connection",  # no connection could be made (refused, no route, bad URL)
    "connect_timeout",  # the connection was not made in time
    "tls",  # the TLS handshake or the certificate check failed
    "read_timeout",  # sent, but no answer in time
    "connection_lost",  # sent, then the connection broke before the answer
    "redirect",  # a 3xx answer: redirections are never followed
    "html",  # an HTML page (a gateway's or a proxy's) instead of JSON
    "empty",  # an empty body where JSON was expected
    "not_json",  # a body that is not JSON (truncated, garbled)
    "invalid_answer",  # JSON, but not what the contract describes (see ``field``)
)
NOTHING_SENT_KINDS = frozenset({"connection", "connect_timeout", "tls"})

# ``UrssafValidationError.reason``.
VALIDATION_REASONS = (
    "required",  # missing or blank
    "not_text",  # a string was expected
    "not_a_number",  # an amount was expected (bool and unparsable text refused)
    "not_finite",  # NaN or an infinity
    "not_a_date",  # a date without time was expected
    "not_an_identifier",  # an Identifier (NIR or SIRET) was expected
    "not_a_mapping",  # a mapping category -> amount was expected
    "format",  # not the shape of a NIR, SIRET, IBAN or BIC
    "length",  # a NIR, SIRET, IBAN or BIC of the wrong length
    "checksum",  # its check digits do not match
    "identifier_choice",  # neither or both of NIR and SIRET
    "below_minimum",  # params: minimum
    "too_large",  # params: maximum
    "too_many_decimals",  # more than two decimals
    "period_reversed",  # the period ends before it starts
    "unknown_category",  # params: allowed
    "too_long",  # params: max_length
    "control_characters",  # control characters in a text
    "invalid_url",  # the API address is not an http(s) URL with a host
    "https_required",  # plain http beyond the loopback
)

# Codes the contract names.
CONTRACT_CODES = (
    "ER_API_MANDAT_AUTRE_TIERS",
    "ER_API_MANDAT_ABSENT",
    "ER_API_DECLARATION_EXISTANTE",
    "ER_API_PERIODE_NON_ECHUE",
    "ER_API_PERIODE_INVALIDE",
    "ER_API_MANDAT_SEPA_ABSENT",
    "ER_API_MONTANT_INVALIDE",
    "ER_API_PAIEMENT_EXISTANT",
    "ERREUR_TECHNIQUE",
)
# Codes of this project's reading of the contract, where it leaves the
# wording open: those the embedded sandbox answers (it plays Urssaf).
PROJECT_CODES = (
    "ER_API_REQUETE_INVALIDE",
    "ER_API_IDENTIFIANT_INVALIDE",
    "ER_API_DATE_INVALIDE",
    "ER_API_CATEGORIE_INVALIDE",
    "ER_API_IBAN_INVALIDE",
    "ER_API_BIC_INVALIDE",
    "ER_API_JETON_ABSENT",
    "ER_API_JETON_INVALIDE",
    "ER_API_JETON_EXPIRE",
    "ER_API_RESSOURCE_INCONNUE",
    "ER_API_METHODE_NON_AUTORISEE",
    "ER_API_COMPTE_INCONNU",
    "ER_API_COMPTE_NON_ELIGIBLE",
    "ER_API_IDENTITE_INCOHERENTE",
    "ER_API_DATE_SIGNATURE_INVALIDE",
    "ER_API_MANDAT_INCONNU",
    "ER_API_CATEGORIE_NON_AUTORISEE",
    "ER_API_REFERENCE_TIERS_EXISTANTE",
    "ER_API_DECLARATION_INCONNUE",
    "ER_API_DATE_PRELEVEMENT_INVALIDE",
    "ER_API_MANDAT_SEPA_EXISTANT",
    "ER_API_MANDAT_SEPA_INCONNU",
    "ER_API_QUOTA_DEPASSE",
)
# The token endpoint's errors (RFC 6749, section 5.2).
OAUTH_CODES = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
)
# ``UrssafApiError.code`` values a caller should word.
KNOWN_CODES = CONTRACT_CODES + PROJECT_CODES + OAUTH_CODES

# Optional English guidance, by code then by status family.
CODE_HINTS = {
    "ER_API_MANDAT_AUTRE_TIERS": (
        "Another third-party declarant holds this auto-entrepreneur's mandate: it must end it before yours "
        "can be registered."
    ),
    "ER_API_MANDAT_ABSENT": "Register the mandate signed by the auto-entrepreneur with Urssaf first.",
    "ER_API_DECLARATION_EXISTANTE": "This period is already declared: link the existing declaration instead.",
    "ER_API_PERIODE_NON_ECHUE": "Wait until the period has ended to declare it.",
    "ER_API_PERIODE_INVALIDE": "Check the dates: the period must follow the account's periodicity.",
    "ER_API_MANDAT_SEPA_ABSENT": "Register a SEPA direct debit mandate for this IBAN before paying.",
    "ER_API_MONTANT_INVALIDE": "The amount exceeds what remains due: look up the declaration for that amount.",
    "ER_API_PAIEMENT_EXISTANT": "This declaration is already paid: no new payment is needed.",
    "ERREUR_TECHNIQUE": "Try again later; if it persists, contact Urssaf quoting the correlation id.",
    "ER_API_REFERENCE_TIERS_EXISTANTE": "This reference was used for another declaration: use one per declaration.",
    "ER_API_CATEGORIE_NON_AUTORISEE": "Check the turnover category: the account does not exercise this activity.",
    "ER_API_COMPTE_INCONNU": "Check the auto-entrepreneur's NIR or SIRET.",
    "ER_API_COMPTE_NON_ELIGIBLE": "This auto-entrepreneur cannot be declared by a third party.",
    "ER_API_IDENTITE_INCOHERENTE": "Correct the name, first names or birth date to match those Urssaf knows.",
    "ER_API_DATE_SIGNATURE_INVALIDE": "Check the mandate's signature date.",
    "ER_API_DATE_PRELEVEMENT_INVALIDE": "Choose a debit date that has not passed, or let Urssaf debit on the due date.",
    "ER_API_DECLARATION_INCONNUE": "Check the number of the declaration to pay.",
    "ER_API_MANDAT_INCONNU": "This mandate does not exist or is not yours: look up the account.",
    "ER_API_MANDAT_SEPA_INCONNU": "This SEPA mandate does not exist or is no longer active: list the SEPA mandates.",
    "ER_API_MANDAT_SEPA_EXISTANT": "A SEPA mandate is already active for this IBAN: reuse it.",
    "ER_API_JETON_EXPIRE": "The access token expired: try again.",
    "ER_API_JETON_INVALIDE": "The access token was refused: check the OAuth2 client id and secret.",
    "invalid_client": "Check the OAuth2 client id and secret configured for the API.",
    "invalid_scope": "Check the scope configured for the API (tiersdecl.ae by default).",
    "unauthorized_client": "This OAuth2 client may not use the API: check the access Urssaf granted.",
}
STATUS_HINTS = {
    400: "The request is malformed: report it to the software's publisher.",
    401: "Check the OAuth2 client id and secret configured for the API.",
    403: "Check that you hold this auto-entrepreneur's mandate.",
    404: "Check the identifier (NIR or SIRET) or the reference used.",
    409: "Urssaf already recorded this operation.",
    422: "Correct the data Urssaf points out, then try again.",
    429: "Too many calls: try again in a moment.",
    500: CODE_HINTS["ERREUR_TECHNIQUE"],
}

# How the English sentences name each operation.
OPERATION_LABELS = {
    "fetch_token": "the access token request",
    "get_account": "the account lookup",
    "register_mandate": "the mandate registration",
    "end_mandate": "the end of the mandate",
    "estimate": "the contributions estimate",
    "declare": "the declaration",
    "find_declarations": "the declarations lookup",
    "pay": "the payment",
    "list_sepa_mandates": "the SEPA mandates lookup",
    "register_sepa_mandate": "the SEPA mandate registration",
    "revoke_sepa_mandate": "the SEPA mandate revocation",
}


def operation_label(operation):
    return OPERATION_LABELS.get(operation, "the API call")


class UrssafError(Exception):
    """Base of the client's errors: ``operation`` and ``correlation_id``;
    ``str()`` (also ``message``) is an English sentence built from the
    attributes, redacted."""

    def __init__(self, *, operation=None, correlation_id=None):
        self.operation = operation
        self.correlation_id = correlation_id
        super().__init__()

    def _describe(self):
        """The English sentence, without the correlation id."""
        raise NotImplementedError

    def __str__(self):
        text = self._describe()
        if self.correlation_id:
            text += f" Correlation id: {self.correlation_id}."
        return redact(text)

    @property
    def message(self):
        return str(self)

    def __repr__(self):
        return f"{type(self).__name__}({str(self)!r})"


_REASON_SENTENCES = {
    "required": "a value is required",
    "not_text": "a text is expected",
    "not_a_number": "a decimal amount is expected",
    "not_finite": "the amount must be a finite number",
    "not_a_date": "a date (without time) is expected",
    "not_an_identifier": "an Identifier (NIR or SIRET) is expected",
    "not_a_mapping": "a mapping of category to amount is expected",
    "format": "the format is not valid",
    "length": "the length is not valid",
    "checksum": "the check digits do not match",
    "identifier_choice": "give either the NIR or the SIRET, exactly one of them",
    "below_minimum": "the amount must be at least {minimum}",
    "too_large": "the amount must be under {maximum}",
    "too_many_decimals": "the amount has more than two decimals",
    "period_reversed": "the period ends before it starts",
    "unknown_category": "unknown category; allowed: {allowed}",
    "too_long": "longer than {max_length} characters",
    "control_characters": "the text holds control characters",
    "invalid_url": "the API address must be an https:// URL",
    "https_required": "the API address must start with https:// (plain http only on the loopback)",
}


class UrssafValidationError(UrssafError, ValueError):
    """A value given to the client is not acceptable; nothing was sent.
    ``field``, ``reason`` (one of :data:`VALIDATION_REASONS`), ``params``."""

    def __init__(self, field, reason, params=None, *, operation=None):
        if reason not in VALIDATION_REASONS:
            raise ValueError(f"unknown validation reason {reason!r}")
        self.field = field
        self.reason = reason
        self.params = dict(params or {})
        super().__init__(operation=operation)

    def _describe(self):
        params = {
            name: ", ".join(value) if isinstance(value, (tuple, list)) else value for name, value in self.params.items()
        }
        during = f" ({operation_label(self.operation)})" if self.operation else ""
        return f"Invalid value for '{self.field}'{during}: {_REASON_SENTENCES[self.reason].format(**params)}."


_TRANSPORT_SENTENCES = {
    "connection": "Could not connect to Urssaf for {label}; nothing was sent.",
    "connect_timeout": "Connecting to Urssaf for {label} timed out; nothing was sent.",
    "tls": "The secure connection (TLS) to Urssaf for {label} failed; nothing was sent.",
    "read_timeout": "Urssaf did not answer {label} in time.",
    "connection_lost": "The connection to Urssaf broke during {label}, before its answer.",
    "redirect": "Urssaf answered {label} with a redirection{http}, which was not followed: check the API address.",
    "html": "Urssaf answered {label} with an HTML page{http} instead of JSON.",
    "empty": "Urssaf answered {label} with an empty body{http}.",
    "not_json": "Urssaf's answer to {label}{http} is not readable JSON.",
    "invalid_answer": "Urssaf's answer to {label}{http} does not follow the contract: {what}.",
}
# The same, in a few words, for the cause of an unknown outcome.
_TRANSPORT_CAUSES = {
    "connection": "no connection",
    "connect_timeout": "connection time-out",
    "tls": "TLS failure",
    "read_timeout": "answer time-out",
    "connection_lost": "connection lost",
    "redirect": "redirection",
    "html": "HTML page",
    "empty": "empty answer",
    "not_json": "answer not JSON",
    "invalid_answer": "incomplete answer",
}


class UrssafTransportError(UrssafError):
    """No usable answer: ``kind`` (one of :data:`TRANSPORT_KINDS`),
    ``status`` (HTTP, when an answer came), ``field`` (``invalid_answer``)."""

    def __init__(self, kind, *, status=None, field=None, operation=None, correlation_id=None):
        if kind not in TRANSPORT_KINDS:
            raise ValueError(f"unknown transport error kind {kind!r}")
        self.kind = kind
        self.status = status
        self.field = field
        super().__init__(operation=operation, correlation_id=correlation_id)

    @property
    def nothing_sent(self):
        """True when the request never left: sending it again is safe."""
        return self.kind in NOTHING_SENT_KINDS

    def _describe(self):
        what = f"field '{self.field}' missing or malformed" if self.field else "not the object expected"
        return _TRANSPORT_SENTENCES[self.kind].format(
            label=operation_label(self.operation),
            http=f" (HTTP {self.status})" if self.status is not None else "",
            what=what,
        )

    def summary(self):
        """The error in a few words: ``"HTML page, HTTP 502"``."""
        text = _TRANSPORT_CAUSES[self.kind]
        if self.field:
            text += f", field '{self.field}'"
        return text + (f", HTTP {self.status}" if self.status is not None else "")


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

    ``cause`` is the underlying :class:`UrssafTransportError` (time-out,
    lost connection, unreadable answer) or :class:`UrssafApiError` (5xx).
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
        super().__init__(operation=operation, correlation_id=correlation_id)

    def _describe(self):
        if self.operation == "declare":
            what = f" (reference {self.reference_tiers})"
            settle = "Do not send it again: look it up by its reference first to learn whether Urssaf recorded it."
        elif self.operation == "pay":
            what = f" (declaration {self.declaration_number}, amount {self.amount} EUR)"
            settle = (
                "Do not send it again: look up the declaration first (amount remaining due and status) "
                "to learn whether Urssaf recorded it."
            )
        else:
            what = ""
            settle = "Check its state at Urssaf before trying again."
        cause = f" ({_cause_summary(self.cause)})" if self.cause is not None else ""
        return (
            f"Outcome of {operation_label(self.operation)}{what} unknown: the request was sent but Urssaf's "
            f"answer could not be read{cause}. {settle}"
        )


def _cause_summary(cause):
    if isinstance(cause, UrssafTransportError):
        return cause.summary()
    if isinstance(cause, UrssafApiError):
        return f"HTTP {cause.status}" + (f" {cause.code}" if cause.code else "")
    return type(cause).__name__


@dataclass(frozen=True)
class ErrorDetail:
    """One item of Urssaf's error array (``Erreur``)."""

    code: str | None
    message: str | None
    description: str | None = None


_LEADS = {
    400: "Urssaf rejected {label} as malformed",
    401: "Urssaf refused the authentication for {label}",
    403: "Urssaf refused {label}",
    404: "Urssaf did not find what {label} refers to",
    409: "Urssaf refused {label}",
    422: "Urssaf refused {label}",
    429: "Urssaf limited the number of calls ({label})",
}


def _lead(status, operation):
    label = operation_label(operation)
    if status is not None and status >= 500:
        return f"Urssaf had a technical error during {label}"
    return _LEADS.get(status, "Urssaf answered {label} with an error").format(label=label)


class UrssafApiError(UrssafError):
    """Urssaf answered an error. Attributes:

    ``status`` (HTTP), ``code`` (e.g. ``ER_API_PERIODE_NON_ECHUE``),
    ``urssaf_message`` and ``description`` (Urssaf's own words, kept as
    received, redacted), ``errors`` (all :class:`ErrorDetail` items, the
    first one gives ``code``), ``hint`` (optional English guidance),
    ``operation``, ``correlation_id``.
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
        super().__init__(operation=operation, correlation_id=correlation_id)

    def _describe(self):
        text = _lead(self.status, self.operation)
        text += f": {self.code} (HTTP {self.status})." if self.code else f" (HTTP {self.status})."
        said = [words.strip() for words in self._urssaf_words() if words.strip()]
        if said:
            # Quoted as received; a full stop after them unless they end a sentence.
            text += " Urssaf said: " + " ".join(f'"{words}"' for words in said)
            text += "" if said[-1].endswith((".", "!", "?")) else "."
        others = [detail.code for detail in self.errors[1:] if detail.code]
        if others:
            text += " Other errors: " + ", ".join(others) + "."
        for sentence in self._facts():
            text += f" {sentence}"
        if self.hint:
            text += f" {self.hint}"
        return text

    def _facts(self):
        """Sentences a subclass adds about what Urssaf's answer tells."""
        return []

    def _urssaf_words(self):
        """Urssaf's message, then its description unless it repeats it."""
        message = (self.urssaf_message or "").strip()
        description = (self.description or "").strip()
        return [message] + ([description] if description and description != message else [])


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

    def _urssaf_words(self):
        # A description that is the bare reference is said as such below.
        return [words for words in super()._urssaf_words() if words != self.existing_reference]

    def _facts(self):
        return [f"Existing reference: {self.existing_reference}."] if self.existing_reference else []


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
