"""The errors carry data from closed sets, and say it in English.

The Odoo layer words every error in the user's language from its attributes
(operation, code, kind, reason): these tests check that the closed sets are
complete (every code the sandbox answers, every operation of the client)
and that ``str()`` of every combination is English, naming Urssaf's code and
the correlation id.
"""

import inspect
import re
from decimal import Decimal

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .. import client as client_module
from .. import sandbox as sandbox_module
from .. import testing as testing_module
from ..client import _transport_kind
from ..exceptions import (
    CODE_HINTS,
    CONTRACT_CODES,
    KNOWN_CODES,
    NOTHING_SENT_KINDS,
    OPERATIONS,
    TRANSPORT_KINDS,
    VALIDATION_REASONS,
    ErrorDetail,
    UrssafApiError,
    UrssafOutcomeUnknown,
    UrssafTransportError,
    UrssafValidationError,
    api_error_class,
)

CORRELATION_ID = "3f1c2a9e-5b7d-4e0f-9a1b-2c3d4e5f6a7b"
STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 418)
# Sample params for the reasons that take some, as the validators give them.
REASON_PARAMS = {
    "below_minimum": {"minimum": Decimal("0.01")},
    "too_large": {"maximum": Decimal("1000000000")},
    "too_long": {"max_length": 64},
    "unknown_category": {"allowed": ("VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC")},
}

# Words of the French texts the client used to produce and common French
# words, folded to ASCII, that are not also English words (those, like
# "déclaration", are caught by their accents).
FRENCH_WORDS = {
    "le", "la", "les", "des", "du", "une", "et", "pour", "avec", "sans", "est", "pas", "aucun", "aucune",
    "vous", "votre", "vos", "cette", "ce", "ces", "sur", "dans", "tard", "ou", "soit", "deux",
    "verifiez", "reessayez", "attendez", "enregistrez", "consultez", "recherchez", "renvoyez", "indiquez",
    "jeton", "reponse", "connexion", "delai", "depasse", "inconnue", "inconnu", "identifiant", "montant",
    "periode", "paiement", "mandat", "valeur", "chaine", "caracteres", "cle", "nombre", "attendu",
    "attendue", "rien", "trop", "appels", "donnee", "invalide", "echue", "prelevement", "categorie",
    "chiffre", "affaires", "compte", "demande", "enregistrement", "recherche", "cotisations", "transmis",
    "illisible", "vide",
}  # fmt: skip
ACCENTED = re.compile(r"[àâäçéèêëîïôöûùüÿœæÀÂÄÇÉÈÊËÎÏÔÖÛÙÜŸŒÆ]")
# What may hold French as data: quoted Urssaf words or contract field names,
# and codes (ER_API_MANDAT_ABSENT, ERREUR_TECHNIQUE, VENTE_MARCHANDISES).
DATA = re.compile(r"'[^']*'|\"[^\"]*\"|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\binvalid_\w+|\bunauthorized_client\b")


def _french_in(text):
    """French words or accented letters left once the data is taken out."""
    prose = DATA.sub(" ", text)
    words = {word.lower() for word in re.findall(r"[^\W\d_]+", prose)}
    folded = {word.translate(str.maketrans("àâçéèêëîïôûùü", "aaceeeeiiouuu")) for word in words}
    return sorted(ACCENTED.findall(prose)) + sorted(folded & FRENCH_WORDS)


def _api_errors():
    for code in KNOWN_CODES + (None, "ER_API_NOT_YET_KNOWN"):
        for status in STATUSES:
            for operation in (*OPERATIONS, None):
                yield api_error_class(status, code)(status, code, None, None, CORRELATION_ID, (), operation=operation)


def _transport_errors():
    for kind in TRANSPORT_KINDS:
        for status in (None, 502):
            for operation in (*OPERATIONS, None):
                field = "montantTotal" if kind == "invalid_answer" and status else None
                yield UrssafTransportError(
                    kind, status=status, field=field, operation=operation, correlation_id=CORRELATION_ID
                )


def _validation_errors():
    for reason in VALIDATION_REASONS:
        for operation in (*OPERATIONS, None):
            yield UrssafValidationError(
                "chiffresAffaires[VENTE_MARCHANDISES].montant", reason, REASON_PARAMS.get(reason), operation=operation
            )


def _unknown_outcomes():
    causes = [UrssafTransportError(kind, status=200) for kind in TRANSPORT_KINDS]
    causes += [api_error_class(503, "ERREUR_TECHNIQUE")(503, "ERREUR_TECHNIQUE"), None]
    for operation in OPERATIONS:
        for cause in causes:
            yield UrssafOutcomeUnknown(
                operation,
                correlation_id=CORRELATION_ID,
                cause=cause,
                reference_tiers="REF-OCT",
                declaration_number="D20260000001",
                amount=Decimal("123.45"),
            )


ALL_ERRORS = {
    "api": _api_errors,
    "transport": _transport_errors,
    "validation": _validation_errors,
    "outcome unknown": _unknown_outcomes,
}


@pytest.mark.parametrize("family", ALL_ERRORS)
def test_every_error_says_itself_in_english(family):
    rendered = 0
    for error in ALL_ERRORS[family]():
        text = str(error)
        assert _french_in(text) == [], text
        assert text == error.message and text.endswith(".")
        if error.correlation_id:
            assert text.endswith(f" Correlation id: {CORRELATION_ID}.")
        if isinstance(error, UrssafApiError) and error.code:
            assert error.code in text
        rendered += 1
    assert rendered > len(OPERATIONS)


def test_the_french_detector_does_detect():
    # Guard for the test above: the old texts would have failed it.
    assert _french_in("Urssaf refuse la déclaration : période non échue (ER_API_PERIODE_NON_ECHUE).")
    assert _french_in("Pas de réponse de l'Urssaf pour le paiement : connexion impossible.")
    assert _french_in("Donnée invalide (montant) : le montant a plus de deux décimales.")
    assert not _french_in('Urssaf refused the declaration. Urssaf said: "Période non échue."')


def test_urssaf_words_are_kept_as_received():
    error = api_error_class(422, "ER_API_PERIODE_NON_ECHUE")(
        422,
        "ER_API_PERIODE_NON_ECHUE",
        "Période non échue.",
        "La période ne pourra être déclarée qu'à partir du lendemain de sa fin.",
        CORRELATION_ID,
        [
            ErrorDetail("ER_API_PERIODE_NON_ECHUE", "Période non échue.", None),
            ErrorDetail("ER_API_MONTANT_INVALIDE", "Montant invalide.", None),
        ],
        operation="declare",
    )
    assert (error.status, error.code, error.operation) == (422, "ER_API_PERIODE_NON_ECHUE", "declare")
    assert error.urssaf_message == "Période non échue."
    assert [detail.code for detail in error.errors] == ["ER_API_PERIODE_NON_ECHUE", "ER_API_MONTANT_INVALIDE"]
    assert str(error) == (
        "Urssaf refused the declaration: ER_API_PERIODE_NON_ECHUE (HTTP 422). "
        'Urssaf said: "Période non échue." "La période ne pourra être déclarée qu\'à partir du lendemain de sa fin." '
        "Other errors: ER_API_MONTANT_INVALIDE. Wait until the period has ended to declare it. "
        f"Correlation id: {CORRELATION_ID}."
    )


def test_conflict_names_the_existing_reference():
    error = api_error_class(409, "ER_API_DECLARATION_EXISTANTE")(
        409, "ER_API_DECLARATION_EXISTANTE", "Période déjà déclarée.", "D20260000042", CORRELATION_ID
    )
    assert error.declaration_number == "D20260000042"
    assert str(error).count("D20260000042") == 1
    assert "Existing reference: D20260000042." in str(error)


def test_outcome_unknown_keeps_its_cause_as_data():
    cause = UrssafTransportError("read_timeout", operation="pay", correlation_id=CORRELATION_ID)
    error = UrssafOutcomeUnknown(
        "pay", correlation_id=CORRELATION_ID, cause=cause, declaration_number="D1", amount=Decimal("10.00")
    )
    assert (error.operation, error.declaration_number, error.amount, error.reference_tiers) == (
        "pay",
        "D1",
        Decimal("10.00"),
        None,
    )
    assert error.cause is cause and error.cause.kind == "read_timeout"
    assert str(error).startswith(
        "Outcome of the payment (declaration D1, amount 10.00 EUR) unknown: the request was sent but Urssaf's "
        "answer could not be read (answer time-out). Do not send it again"
    )


def test_closed_sets_are_closed():
    with pytest.raises(ValueError):
        UrssafTransportError("gremlins")
    with pytest.raises(ValueError):
        UrssafValidationError("nir", "looks odd")
    for values in (OPERATIONS, TRANSPORT_KINDS, VALIDATION_REASONS, KNOWN_CODES):
        assert len(set(values)) == len(values)
    assert NOTHING_SENT_KINDS < set(TRANSPORT_KINDS)
    assert set(CONTRACT_CODES) < set(KNOWN_CODES)
    assert set(CODE_HINTS) <= set(KNOWN_CODES)


def test_known_codes_cover_every_code_the_sandbox_answers():
    # The sandbox (and the fault server's canned answers) play Urssaf: every
    # code they can send is one the Odoo layer must be able to word.
    source = inspect.getsource(sandbox_module) + inspect.getsource(testing_module)
    answered = set(re.findall(r"\"((?:ER_API|ERREUR)_[A-Z_]+)\"", source))
    answered |= set(re.findall(r"_OAuthError\(\d+, \"(\w+)\"", source))
    assert len(answered) > 30
    assert answered - set(KNOWN_CODES) == set()


def test_operations_are_those_of_the_client():
    client_operations = {
        value.name for value in vars(client_module).values() if isinstance(value, client_module._Operation)
    }
    assert client_operations | {"fetch_token"} == set(OPERATIONS)
    assert {operation.name for operation in testing_module.OPERATIONS} == set(OPERATIONS)


@pytest.mark.parametrize(
    "failure, kind",
    [
        (requests.exceptions.ConnectTimeout(), "connect_timeout"),
        (requests.exceptions.ReadTimeout(), "read_timeout"),
        (requests.exceptions.SSLError(), "tls"),
        (requests.exceptions.ConnectionError(NewConnectionError(None, "refused")), "connection"),
        (requests.exceptions.ConnectionError(ConnectTimeoutError()), "connection"),
        (requests.exceptions.InvalidURL(), "connection"),
        (requests.exceptions.ConnectionError(ConnectionResetError()), "connection_lost"),
        (requests.exceptions.ChunkedEncodingError(), "connection_lost"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value,
)
def test_transport_kind_of_each_requests_failure(failure, kind):
    assert _transport_kind(failure) == kind
    assert UrssafTransportError(kind).nothing_sent == (kind in ("connection", "connect_timeout", "tls"))
