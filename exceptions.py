# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Urssaf client's errors in the user's language.

The pure client (``urssaf_api``) carries data: the operation, Urssaf's code
and words, the HTTP status, the transport failure's kind, the field and
reason of a refused value, the correlation id. This module words them for
people, through Odoo's translations, the way ``account_peppol/exceptions.py``
maps its codes: each text is a lazy translation (``_lt``) resolved in the
language of the environment that shows it.

Every code, kind, reason and operation of the client's closed sets has its
text here; a test checks the mapping is complete, in English and in French.
"""

from odoo.tools import LazyTranslate

from .urssaf_api.exceptions import (
    UrssafApiError,
    UrssafConflictError,
    UrssafOutcomeUnknown,
    UrssafRateLimitedError,
    UrssafTransportError,
    UrssafValidationError,
)
from .urssaf_api.masking import redact

_lt = LazyTranslate(__name__)

# How each client operation is named inside a sentence.
OPERATION_LABELS = {
    "fetch_token": lambda: _lt("the access token request"),
    "get_account": lambda: _lt("the account check"),
    "register_mandate": lambda: _lt("the mandate registration"),
    "end_mandate": lambda: _lt("the end of the mandate"),
    "estimate": lambda: _lt("the contributions estimate"),
    "declare": lambda: _lt("the declaration"),
    "find_declarations": lambda: _lt("the declarations look-up"),
    "pay": lambda: _lt("the payment"),
    "list_sepa_mandates": lambda: _lt("the SEPA mandates look-up"),
    "register_sepa_mandate": lambda: _lt("the SEPA mandate registration"),
    "revoke_sepa_mandate": lambda: _lt("the SEPA mandate revocation"),
}

# What Urssaf's code means for the user: what to do about it.
CODE_MESSAGES = {
    "ER_API_MANDAT_AUTRE_TIERS": lambda: _lt(
        "Another tiers-déclarant holds this auto-entrepreneur's mandate: it must end it before yours can be registered."
    ),
    "ER_API_MANDAT_ABSENT": lambda: _lt("Register the mandate the auto-entrepreneur signed with Urssaf first."),
    "ER_API_DECLARATION_EXISTANTE": lambda: _lt(
        "This period is already declared: the existing declaration is looked up instead of sending a new one."
    ),
    "ER_API_PERIODE_NON_ECHUE": lambda: _lt("Wait until the period has ended to declare it."),
    "ER_API_PERIODE_INVALIDE": lambda: _lt(
        "Check the dates: the period must follow the periodicity of the auto-entrepreneur's account."
    ),
    "ER_API_MANDAT_SEPA_ABSENT": lambda: _lt("Register a SEPA direct debit mandate for this IBAN before paying."),
    "ER_API_MONTANT_INVALIDE": lambda: _lt(
        "The amount is more than what remains due: look up the declaration for the amount left to pay."
    ),
    "ER_API_PAIEMENT_EXISTANT": lambda: _lt("This declaration is already paid: no new payment is needed."),
    "ERREUR_TECHNIQUE": lambda: _lt("Try again later; if it goes on, contact Urssaf quoting the correlation id."),
    "ER_API_REQUETE_INVALIDE": lambda: _lt("The request was malformed: report it to the software's publisher."),
    "ER_API_IDENTIFIANT_INVALIDE": lambda: _lt("Check the auto-entrepreneur's NIR or SIRET."),
    "ER_API_DATE_INVALIDE": lambda: _lt("Check the dates sent."),
    "ER_API_CATEGORIE_INVALIDE": lambda: _lt("Check the turnover categories of the declaration."),
    "ER_API_IBAN_INVALIDE": lambda: _lt("Check the IBAN of the bank account."),
    "ER_API_BIC_INVALIDE": lambda: _lt("Check the BIC of the bank account."),
    "ER_API_JETON_ABSENT": lambda: _lt("The access token was missing: try again."),
    "ER_API_JETON_INVALIDE": lambda: _lt(
        "The access token was refused: check the client ID and secret in the Urssaf settings."
    ),
    "ER_API_JETON_EXPIRE": lambda: _lt("The access token expired: try again."),
    "ER_API_RESSOURCE_INCONNUE": lambda: _lt("Check the API base path in the Urssaf settings."),
    "ER_API_METHODE_NON_AUTORISEE": lambda: _lt("Check the API base path in the Urssaf settings."),
    "ER_API_COMPTE_INCONNU": lambda: _lt("Check the auto-entrepreneur's NIR or SIRET."),
    "ER_API_COMPTE_NON_ELIGIBLE": lambda: _lt(
        "This auto-entrepreneur cannot be declared by a tiers-déclarant: it declares itself on Urssaf's site."
    ),
    "ER_API_IDENTITE_INCOHERENTE": lambda: _lt(
        "Correct the name, first names or birth date so that they match those Urssaf knows."
    ),
    "ER_API_DATE_SIGNATURE_INVALIDE": lambda: _lt("Check the mandate's signature date."),
    "ER_API_MANDAT_INCONNU": lambda: _lt(
        "This mandate does not exist at Urssaf or is not yours: check the auto-entrepreneur's account."
    ),
    "ER_API_CATEGORIE_NON_AUTORISEE": lambda: _lt(
        "Check the turnover category: the account does not carry on this activity at Urssaf."
    ),
    "ER_API_REFERENCE_TIERS_EXISTANTE": lambda: _lt("This reference was already used for another declaration."),
    "ER_API_DECLARATION_INCONNUE": lambda: _lt("Check the number of the declaration to pay."),
    "ER_API_DATE_PRELEVEMENT_INVALIDE": lambda: _lt(
        "Choose a debit date that has not passed, or let Urssaf debit on the due date."
    ),
    "ER_API_MANDAT_SEPA_EXISTANT": lambda: _lt("A SEPA mandate is already active for this IBAN: use it."),
    "ER_API_MANDAT_SEPA_INCONNU": lambda: _lt(
        "This SEPA mandate does not exist or is no longer active: bring the SEPA mandates in from Urssaf."
    ),
    "ER_API_QUOTA_DEPASSE": lambda: _lt("Too many calls: try again in a moment."),
    "invalid_request": lambda: _lt("The token request was malformed: report it to the software's publisher."),
    "invalid_client": lambda: _lt("Check the client ID and secret in the Urssaf settings."),
    "invalid_grant": lambda: _lt("Check the client ID and secret in the Urssaf settings."),
    "unauthorized_client": lambda: _lt(
        "This client may not use the API: check the access Urssaf granted with the licence."
    ),
    "unsupported_grant_type": lambda: _lt("The token request was malformed: report it to the software's publisher."),
    "invalid_scope": lambda: _lt("Check the scope in the Urssaf settings (tiersdecl.ae by default)."),
}

# The same, by status, for a code Urssaf did not publish.
STATUS_MESSAGES = {
    400: lambda: _lt("The request was malformed: report it to the software's publisher."),
    401: lambda: _lt("Check the client ID and secret in the Urssaf settings."),
    403: lambda: _lt("Check that you hold this auto-entrepreneur's mandate."),
    404: lambda: _lt("Check the auto-entrepreneur's identifier (NIR or SIRET) or the reference used."),
    409: lambda: _lt("Urssaf already recorded this operation."),
    422: lambda: _lt("Correct the data Urssaf points out, then try again."),
    429: lambda: _lt("Too many calls: try again in a moment."),
    500: lambda: _lt("Try again later; if it goes on, contact Urssaf quoting the correlation id."),
}

# The first sentence of an Urssaf refusal, by status.
API_LEADS = {
    400: lambda op, code: _lt("Urssaf rejected %(operation)s as malformed (%(code)s).", operation=op, code=code),
    401: lambda op, code: _lt(
        "Urssaf refused the authentication for %(operation)s (%(code)s).", operation=op, code=code
    ),
    403: lambda op, code: _lt("Urssaf refused %(operation)s (%(code)s).", operation=op, code=code),
    404: lambda op, code: _lt("Urssaf did not find what %(operation)s refers to (%(code)s).", operation=op, code=code),
    409: lambda op, code: _lt("Urssaf refused %(operation)s (%(code)s).", operation=op, code=code),
    422: lambda op, code: _lt("Urssaf refused %(operation)s (%(code)s).", operation=op, code=code),
    429: lambda op, code: _lt(
        "Urssaf limited the number of calls during %(operation)s (%(code)s).", operation=op, code=code
    ),
    500: lambda op, code: _lt("Urssaf had a technical error during %(operation)s (%(code)s).", operation=op, code=code),
}

TRANSPORT_MESSAGES = {
    "connection": lambda op: _lt("Urssaf could not be reached for %(operation)s; nothing was sent.", operation=op),
    "connect_timeout": lambda op: _lt(
        "Connecting to Urssaf for %(operation)s took too long; nothing was sent.", operation=op
    ),
    "tls": lambda op: _lt(
        "The secure connection (TLS) to Urssaf for %(operation)s failed; nothing was sent.", operation=op
    ),
    "read_timeout": lambda op: _lt("Urssaf did not answer %(operation)s in time.", operation=op),
    "connection_lost": lambda op: _lt(
        "The connection to Urssaf broke during %(operation)s, before its answer.", operation=op
    ),
    "redirect": lambda op: _lt(
        "Urssaf answered %(operation)s with a redirection, which is never followed: check the Urssaf base URL.",
        operation=op,
    ),
    "html": lambda op: _lt(
        "Urssaf answered %(operation)s with a web page instead of data: its service is probably unavailable.",
        operation=op,
    ),
    "empty": lambda op: _lt("Urssaf answered %(operation)s with an empty answer.", operation=op),
    "not_json": lambda op: _lt("Urssaf's answer to %(operation)s could not be read.", operation=op),
    "invalid_answer": lambda op: _lt(
        "Urssaf's answer to %(operation)s is not the one its API describes.", operation=op
    ),
}

VALIDATION_MESSAGES = {
    "required": lambda p: _lt("a value is required."),
    "not_text": lambda p: _lt("a text is expected."),
    "not_a_number": lambda p: _lt("an amount is expected."),
    "not_finite": lambda p: _lt("the amount must be a finite number."),
    "not_a_date": lambda p: _lt("a date is expected."),
    "not_an_identifier": lambda p: _lt("a NIR or a SIRET is expected."),
    "not_a_mapping": lambda p: _lt("amounts by category are expected."),
    "format": lambda p: _lt("its format is not valid."),
    "length": lambda p: _lt("its length is not valid."),
    "checksum": lambda p: _lt("its check digits do not match."),
    "identifier_choice": lambda p: _lt("give either the NIR or the SIRET, not both."),
    "below_minimum": lambda p: _lt("the amount must be at least %(minimum)s.", minimum=p.get("minimum")),
    "too_large": lambda p: _lt("the amount must be under %(maximum)s.", maximum=p.get("maximum")),
    "too_many_decimals": lambda p: _lt("Urssaf takes euros and cents: no more than two decimals."),
    "period_reversed": lambda p: _lt("the period ends before it starts."),
    "unknown_category": lambda p: _lt(
        "unknown category; Urssaf knows: %(allowed)s.", allowed=", ".join(p.get("allowed") or ())
    ),
    "too_long": lambda p: _lt("no more than %(max_length)s characters.", max_length=p.get("max_length")),
    "control_characters": lambda p: _lt("the text holds control characters."),
    "invalid_url": lambda p: _lt("the address must be an https:// URL."),
    "https_required": lambda p: _lt("the address must use https (plain http only on this machine)."),
}

# The client's names of the values it checks, as people know them.
FIELD_LABELS = {
    "nir": lambda: _lt("NIR"),
    "siret": lambda: _lt("SIRET"),
    "iban": lambda: _lt("IBAN"),
    "bic": lambda: _lt("BIC"),
    "montant": lambda: _lt("Amount"),
    "titulaire": lambda: _lt("Account holder"),
    "dateSignature": lambda: _lt("Signature date"),
    "dateDebut": lambda: _lt("Period start"),
    "dateFin": lambda: _lt("Period end"),
    "referenceTiers": lambda: _lt("Own reference"),
    "base_url": lambda: _lt("Urssaf base URL"),
    "client_id": lambda: _lt("Urssaf client ID"),
    "client_secret": lambda: _lt("Urssaf client secret"),
}


def _text(env, lazy):
    return lazy._translate(env.lang or "en_US")


def _operation(env, operation):
    label = OPERATION_LABELS.get(operation) or (lambda: _lt("the call to Urssaf"))
    return _text(env, label())


def _field(env, field):
    """``chiffresAffaires[VENTE_MARCHANDISES].montant`` -> ``Amount (VENTE_MARCHANDISES)``."""
    name, _sep, rest = (field or "").partition("[")
    key = field.rsplit(".", 1)[-1] if field and "." in field else name
    label = FIELD_LABELS.get(key)
    if not label:
        return field or "?"
    text = _text(env, label())
    category = rest.split("]", 1)[0] if rest else ""
    return f"{text} ({category})" if category else text


def urssaf_error_text(env, error):
    """A client error in the language of ``env``, ready for a message, the
    chatter or a run report; never a NIR, IBAN, secret or token in clear."""
    if isinstance(error, UrssafValidationError):
        text = env._(
            "%(field)s: %(reason)s",
            field=_field(env, error.field),
            reason=_text(env, VALIDATION_MESSAGES[error.reason](error.params)),
        )
    elif isinstance(error, UrssafTransportError):
        text = _text(env, TRANSPORT_MESSAGES[error.kind](_operation(env, error.operation)))
    elif isinstance(error, UrssafOutcomeUnknown):
        text = _outcome_unknown_text(env, error)
    elif isinstance(error, UrssafApiError):
        text = _api_error_text(env, error)
    else:
        text = str(error)
    if error.correlation_id:
        text += " " + env._("Urssaf correlation id: %s.", error.correlation_id)
    return redact(text)


def _api_error_text(env, error):
    status = 500 if error.status and error.status >= 500 else error.status
    code = error.code or f"HTTP {error.status}"
    lead = API_LEADS.get(status) or API_LEADS[422]
    parts = [_text(env, lead(_operation(env, error.operation), code))]
    said = [words for words in _urssaf_words(error) if words]
    if said:
        parts.append(env._("Urssaf said: %s", " ".join(f"“{words}”" for words in said)))
    if isinstance(error, UrssafConflictError) and error.existing_reference:
        parts.append(env._("Existing reference: %s.", error.existing_reference))
    if isinstance(error, UrssafRateLimitedError) and error.retry_after:
        parts.append(env._("Urssaf asks to wait %s seconds.", error.retry_after))
    guidance = CODE_MESSAGES.get(error.code) or STATUS_MESSAGES.get(status)
    if guidance:
        parts.append(_text(env, guidance()))
    return " ".join(parts)


def _urssaf_words(error):
    """Urssaf's own words (data, in Urssaf's language), each said once."""
    message = (error.urssaf_message or "").strip()
    description = (error.description or "").strip()
    words = [message]
    if description and description != message and description != getattr(error, "existing_reference", None):
        words.append(description)
    return words


def _outcome_unknown_text(env, error):
    if error.operation == "declare":
        text = env._(
            "The declaration (reference %(reference)s) was sent, but Urssaf's answer could not be read: it may "
            "or may not be recorded. It is looked up at Urssaf before anything is sent again.",
            reference=error.reference_tiers,
        )
    elif error.operation == "pay":
        text = env._(
            "The payment of declaration %(number)s (%(amount)s €) was sent, but Urssaf's answer could not be "
            "read: it may or may not be recorded. The declaration is looked up at Urssaf before anything is paid "
            "again.",
            number=error.declaration_number,
            amount=error.amount,
        )
    else:
        text = env._(
            "%(operation)s was sent, but Urssaf's answer could not be read: check its state at Urssaf before "
            "trying again.",
            operation=_operation(env, error.operation).capitalize(),
        )
    cause = error.cause
    if isinstance(cause, UrssafTransportError):
        text += " " + _text(env, TRANSPORT_MESSAGES[cause.kind](_operation(env, cause.operation or error.operation)))
    elif isinstance(cause, UrssafApiError):
        text += " " + _api_error_text(env, cause)
    return text
