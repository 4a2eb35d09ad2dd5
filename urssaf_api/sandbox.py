"""Embedded Urssaf sandbox: a stateful implementation of the whole contract.

``Sandbox.handle`` answers one HTTP exchange (token endpoint and the six API
functions) from the state kept in a :class:`~.storage.SandboxStorage`;
``SandboxAdapter`` plugs it into a ``requests.Session`` so that a client runs
unchanged, and ``server.py`` serves it over HTTP.

Choices made where the contract leaves room:

- errors are a JSON array of ``{code, message, description}``; a 409's
  ``description`` is the bare existing reference (numeroDeclaration,
  referencePaiement or RUM);
- ending a mandate this platform already ended answers 204 again (a retry
  after a time-out must not fail); revoking a revoked SEPA mandate answers
  404 (no active mandate under that RUM);
- IBANs come back masked but for their last 4 characters, same length
  (``"***********************0189"``), in lists and in the POST answer;
- a non-zero turnover in a category the account does not exercise is
  refused (422 ``ER_API_CATEGORIE_NON_AUTORISEE``), zero lines are accepted;
- a declaration with nothing due stays ``DECLAREE`` with ``montantRestantDu``
  0 and cannot be paid (422 ``ER_API_MONTANT_INVALIDE``);
- ``dateExigibilite`` is the deadline moved to the next working day when it
  falls on a Saturday, a Sunday or a public holiday (``periods.due_date``);
- ACRE: the contract's ``Compte`` has no field saying whether an AE benefits
  from it, so the sandbox keeps it on its accounts (``acre``, like ``trade``
  and ``chamber``) and answers nothing about it; estimates and declarations
  apply the ACRE rate to the periods it covers;
- ``datePrelevement`` defaults to the due date, or when it has passed to
  today, or the next working day if today is not one; a date given is kept
  as it is, but one in the past is refused (422
  ``ER_API_DATE_PRELEVEMENT_INVALIDE``);
- a payment counts against ``montantRestantDu`` (the declaration reads
  ``PAYEE`` or ``PAYEE_PARTIELLEMENT``) from the day it is registered, and
  its SEPA debit is taken on ``datePrelevement``: from that day on, a debit
  from ``seed.REJECTED_DEBIT_IBAN`` is rejected, the payment reads
  ``REJETE`` and its amount is due again (back to ``DECLAREE`` when nothing
  else was paid), so that it can be paid again. The debits due are taken
  when the declaration is next read or paid.
"""

import contextlib
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import traceback
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

from . import periods
from .contributions import CHAMBERS, TRADES, compute_contributions
from .seed import REJECTED_DEBIT_IBAN, SEED_ACCOUNTS, SEED_CLIENTS
from .storage import SandboxStorage, StorageTransaction

__all__ = [
    "CATEGORIES",
    "DEFAULT_BASE_PATH",
    "DEFAULT_SCOPE",
    "EMBEDDED_BASE_URL",
    "TOKEN_PATH",
    "Sandbox",
    "SandboxAdapter",
    "SandboxRequest",
    "SandboxResponse",
]

_logger = logging.getLogger(__name__)

EMBEDDED_BASE_URL = "https://embedded-sandbox.urssaf.invalid"
TOKEN_PATH = "/api/oauth/v1/token"
DEFAULT_BASE_PATH = "/tiersdecl/v1/ae"
DEFAULT_SCOPE = "tiersdecl.ae"
CATEGORIES = (
    "VENTE_MARCHANDISES",
    "PRESTATION_SERVICES_BIC",
    "PRESTATION_SERVICES_BNC",
    "PRESTATION_SERVICES_BNC_CIPAV",
)
REFERENCE_MAX_LENGTH = 64

_ACCOUNT_REQUIRED = ("periodicite", "dateDebutActivite", "categories", "trade")

# 2: the ACRE test auto-entrepreneur; an older seeded storage gets the
# seeded accounts it lacks.
_SEED_VERSION = 2
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_NIR_PATTERN = re.compile(r"^[12][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])(2[AB]|[0-9]{2})[0-9]{6}[0-9]{2}$")
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CORRELATION_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")
_JSON_TYPES = ("application/json",)
_FORM_TYPE = "application/x-www-form-urlencoded"


def _paris_timezone():
    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:  # no tz database on this system: local time will do
        return None


_PARIS = _paris_timezone()


def _paris_now() -> datetime:
    """Urssaf's clock: periods end and fall due in French time."""
    return datetime.now(_PARIS) if _PARIS else datetime.now().astimezone()


@dataclass
class SandboxRequest:
    """One HTTP request, as the sandbox sees it."""

    method: str
    path: str  # no query, e.g. "/tiersdecl/v1/ae/comptes"
    query: dict[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class SandboxResponse:
    """One HTTP response; ``body`` is JSON (or empty for 204)."""

    status: int
    headers: dict[str, str]
    body: bytes


class _ApiError(Exception):
    """An ``Erreurs`` answer; raised inside a transaction, it rolls it back."""

    def __init__(self, status, code, message, description=None, headers=None):
        super().__init__(code)
        self.status = status
        self.payload = [{"code": code, "message": message, "description": description}]
        self.headers = headers or {}


class _OAuthError(Exception):
    """An RFC 6749 error object from the token endpoint."""

    def __init__(self, status, error, description):
        super().__init__(error)
        self.status = status
        self.payload = {"error": error, "error_description": description}


def _bad_request(code, message, description=None):
    return _ApiError(400, code, message, description)


def _invalid(message, description=None):
    return _ApiError(400, "ER_API_REQUETE_INVALIDE", message, description)


def _unprocessable(code, message, description=None):
    return _ApiError(422, code, message, description)


# --- JSON ---------------------------------------------------------------


def _write_json(value, parts):
    # Decimals become JSON numbers written exactly ("12.30"), never floats.
    if isinstance(value, Decimal):
        parts.append(format(value, "f"))
    elif isinstance(value, dict):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(",")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            _write_json(item, parts)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write_json(item, parts)
        parts.append("]")
    else:
        parts.append(json.dumps(value, ensure_ascii=False))


def _json_bytes(value) -> bytes:
    parts = []
    _write_json(value, parts)
    return "".join(parts).encode("utf-8")


def _money(text) -> Decimal:
    return Decimal(text).quantize(_CENT)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- Input checks (400) ---------------------------------------------------


def _parse_date(value, field_name):
    if isinstance(value, str) and _DATE_PATTERN.match(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise _bad_request(
        "ER_API_DATE_INVALIDE",
        "Date invalide.",
        f"Le champ {field_name} doit être une date AAAA-MM-JJ.",
    )


def _parse_amount(value, field_name, minimum=Decimal("0")):
    sign = "positif" if minimum == 0 else "strictement positif"
    description = f"Le champ {field_name} doit être un nombre {sign} à 2 décimales au plus."
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _bad_request("ER_API_MONTANT_INVALIDE", "Montant invalide.", description)
    try:
        rounded = value.quantize(_CENT)
    except InvalidOperation:
        raise _bad_request("ER_API_MONTANT_INVALIDE", "Montant invalide.", description) from None
    if rounded != value or value < minimum:
        raise _bad_request("ER_API_MONTANT_INVALIDE", "Montant invalide.", description)
    return rounded


def _parse_text(body, field_name, *, required=True, max_length=None):
    value = body.get(field_name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _invalid("Champ obligatoire manquant ou vide.", f"Le champ {field_name} est obligatoire.")
    if max_length and len(value) > max_length:
        raise _invalid(
            "Champ trop long.",
            f"Le champ {field_name} dépasse {max_length} caractères.",
        )
    return value


def _parse_identifier(nir, siret):
    """The storage key of the account designated by exactly one of nir / siret."""
    if (nir is None) == (siret is None):
        raise _bad_request(
            "ER_API_IDENTIFIANT_INVALIDE",
            "Identifiant invalide.",
            "Indiquez exactement un des deux : nir ou siret.",
        )
    if nir is not None:
        compact = stdnum_nir.compact(nir) if isinstance(nir, str) else ""
        if not (_NIR_PATTERN.match(compact) and stdnum_nir.is_valid(compact)):
            raise _bad_request(
                "ER_API_IDENTIFIANT_INVALIDE",
                "NIR invalide.",
                "Le NIR doit compter 15 caractères et sa clé de contrôle être juste.",
            )
        return "nir:" + compact
    compact = stdnum_siret.compact(siret) if isinstance(siret, str) else ""
    if not (compact.isdigit() and stdnum_siret.is_valid(compact)):
        raise _bad_request(
            "ER_API_IDENTIFIANT_INVALIDE",
            "SIRET invalide.",
            "Le SIRET doit compter 14 chiffres et sa clé de Luhn être juste.",
        )
    return "siret:" + compact


def _identifier_in_body(body):
    identifier = body.get("identifiant")
    if not isinstance(identifier, dict):
        raise _bad_request(
            "ER_API_IDENTIFIANT_INVALIDE",
            "Identifiant invalide.",
            "Le champ identifiant doit être un objet portant nir ou siret.",
        )
    return _parse_identifier(identifier.get("nir"), identifier.get("siret"))


def _parse_iban(value):
    if isinstance(value, str):
        with contextlib.suppress(ValidationError):
            return stdnum_iban.validate(value)
    raise _bad_request("ER_API_IBAN_INVALIDE", "IBAN invalide.", "Le champ iban n'est pas un IBAN valide.")


def _mask_iban(iban):
    return "*" * (len(iban) - 4) + iban[-4:]


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(letters.replace("-", " ").casefold().split())


# --- Views (storage documents -> contract schemas) -------------------------


def _mandate_view(mandate):
    return {
        "idMandat": mandate["idMandat"],
        "statut": mandate["statut"],
        "dateEffet": mandate["dateEffet"],
        "dateFin": mandate["dateFin"],
    }


def _lines_view(lines):
    return [
        {
            "categorie": line["categorie"],
            "libelle": line["libelle"],
            "base": _money(line["base"]),
            "taux": Decimal(line["taux"]),
            "montant": _money(line["montant"]),
        }
        for line in lines
    ]


def _declaration_view(declaration):
    return {
        "numeroDeclaration": declaration["numeroDeclaration"],
        "referenceTiers": declaration["referenceTiers"],
        "periode": declaration["periode"],
        "dateDeclaration": declaration["dateDeclaration"],
        "dateExigibilite": declaration["dateExigibilite"],
        "chiffresAffaires": [
            {"categorie": line["categorie"], "montant": _money(line["montant"])}
            for line in declaration["chiffresAffaires"]
        ],
        "cotisations": _lines_view(declaration["cotisations"]),
        "montantTotal": _money(declaration["montantTotal"]),
        "montantRestantDu": _money(declaration["montantRestantDu"]),
        "statut": declaration["statut"],
    }


def _sepa_view(mandate):
    view = {
        "rum": mandate["rum"],
        "iban": _mask_iban(mandate["iban"]),
        "bic": mandate["bic"],
        "titulaire": mandate["titulaire"],
        "dateSignature": mandate["dateSignature"],
        "statut": mandate["statut"],
    }
    if view["bic"] is None:
        del view["bic"]  # optional and not nullable in the contract
    return view


@dataclass
class _Call:
    """What a handler needs to know about the request it serves."""

    client_id: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    parameter: str | None
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    def json_object(self) -> dict:
        content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _JSON_TYPES:
            raise _invalid("Type de contenu invalide.", "Le corps doit être envoyé en application/json.")
        try:
            body = json.loads(self.body or b"null", parse_float=Decimal, parse_int=Decimal)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _invalid("Corps de requête invalide.", "Le corps doit être un objet JSON.")
        return body

    def query_identifier(self) -> str:
        return _parse_identifier(self.query.get("nir"), self.query.get("siret"))


# Routes relative to the base path; "{}" is one path segment (id or RUM).
_ROUTES = {
    "/comptes": {"GET": "_get_account"},
    "/mandats": {"POST": "_post_mandate"},
    "/mandats/{}": {"DELETE": "_delete_mandate"},
    "/estimations": {"POST": "_post_estimate"},
    "/declarations": {"GET": "_get_declarations", "POST": "_post_declaration"},
    "/paiements": {"POST": "_post_payment"},
    "/mandats-sepa": {"GET": "_get_sepa_mandates", "POST": "_post_sepa_mandate"},
    "/mandats-sepa/{}": {"DELETE": "_delete_sepa_mandate"},
}


class Sandbox:
    """Stateful implementation of the contract over a storage.

    Several Sandbox instances (threads, processes) may share one storage:
    all state, tokens and the seed included, lives there.
    """

    def __init__(
        self,
        storage: SandboxStorage,
        *,
        base_path: str = DEFAULT_BASE_PATH,
        clock: Callable[[], datetime] | None = None,
        token_lifetime: int = 3600,
        scope: str = DEFAULT_SCOPE,
    ):
        self.storage = storage
        self.base_path = "/" + base_path.strip("/")
        self.clock = clock or _paris_now
        self.token_lifetime = token_lifetime
        self.scope = scope
        # Deadlines of declarations of last year to next year's.
        year = self.clock().year
        periods.load_calendar(year - 1, year, year + 1)

    # --- public ------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request; never raises."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        correlation_id = headers.get("x-correlationid", "")
        if not _CORRELATION_PATTERN.match(correlation_id):
            correlation_id = str(uuid.uuid4())
        extra_headers = {}
        try:
            status, payload, extra_headers = self._dispatch(request, headers)
        except (_ApiError, _OAuthError) as error:
            status, payload = error.status, error.payload
            extra_headers = getattr(error, "headers", {})
        except Exception as error:
            # Log the code path only: exception texts may quote request data.
            _logger.error(
                "Sandbox internal error (%s) on %s:\n%s",
                type(error).__name__,
                request.method,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            status = 500
            payload = [
                {
                    "code": "ERREUR_TECHNIQUE",
                    "message": "Erreur technique.",
                    "description": "Erreur interne du bac à sable.",
                }
            ]
        response_headers = {"x-correlationid": correlation_id}
        if payload is None:
            body = b""
        else:
            body = _json_bytes(payload)
            response_headers["Content-Type"] = "application/json"
        response_headers.update(extra_headers)
        return SandboxResponse(status, response_headers, body)

    def add_account(self, **fields) -> None:
        """Register (or update the profile of) a test auto-entrepreneur.

        Same fields as :data:`~.seed.SEED_ACCOUNTS` (``alias`` and ``role``
        optional). Dates may be ``date`` objects or ISO strings. An existing
        account keeps its mandates. Raises ValueError on invalid fields.
        """
        with self._transaction() as transaction:
            self._store_account(transaction, fields)

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register an extra OAuth client (another tiers-déclarant)."""
        with self._transaction() as transaction:
            transaction.put("client", client_id, {"secret_sha256": _digest(client_secret)})

    # --- plumbing ----------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[StorageTransaction]:
        """A storage transaction on seeded state.

        The seed marker is checked in every transaction rather than cached:
        a storage rolled back or wiped underneath (Odoo tests) is re-seeded.
        """
        with self.storage.transaction() as transaction:
            self._seed(transaction)
            yield transaction

    def _seed(self, transaction):
        marker = transaction.get("meta", "seed")
        if marker is not None and marker.get("version", 1) >= _SEED_VERSION:
            return
        if marker is None:
            for client_id, secret in SEED_CLIENTS.items():
                transaction.put("client", client_id, {"secret_sha256": _digest(secret)})
        for account in SEED_ACCOUNTS:
            # A storage seeded by an older version keeps its accounts as they are.
            if marker is None or transaction.get("account", self._seed_key(account)) is None:
                self._store_account(transaction, account)
        transaction.put("meta", "seed", {"version": _SEED_VERSION})

    @staticmethod
    def _seed_key(account):
        return _parse_identifier(account.get("nir"), account.get("siret"))

    def _dispatch(self, request, headers):
        method = request.method.upper()
        if request.path == TOKEN_PATH:
            if method != "POST":
                raise self._method_not_allowed(["POST"])
            return self._post_token(request, headers)
        handler_name, parameter = self._route(method, request.path)
        now = self.clock()
        with self._transaction() as transaction:
            client_id = self._authenticate(transaction, headers, now)
            call = _Call(client_id, request.query, headers, request.body, parameter, now)
            return getattr(self, handler_name)(transaction, call)

    def _route(self, method, path):
        prefix = self.base_path + "/"
        if path.startswith(prefix):
            segments = path[len(prefix) :].split("/")
            if len(segments) == 1:
                template, parameter = "/" + segments[0], None
            elif len(segments) == 2 and segments[1]:
                template, parameter = f"/{segments[0]}/{{}}", unquote(segments[1])
            else:
                template, parameter = None, None
            methods = _ROUTES.get(template)
            if methods:
                if method not in methods:
                    raise self._method_not_allowed(sorted(methods))
                return methods[method], parameter
        raise _ApiError(404, "ER_API_RESSOURCE_INCONNUE", "Ressource inconnue.", "Aucune opération à cette adresse.")

    @staticmethod
    def _method_not_allowed(allowed):
        return _ApiError(
            405,
            "ER_API_METHODE_NON_AUTORISEE",
            "Méthode non autorisée.",
            f"Méthodes acceptées : {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )

    def _authenticate(self, transaction, headers, now):
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        challenge = {"WWW-Authenticate": 'Bearer realm="urssaf"'}
        if scheme.lower() != "bearer" or not token:
            raise _ApiError(
                401,
                "ER_API_JETON_ABSENT",
                "Jeton d'accès absent.",
                "Envoyez l'en-tête Authorization: Bearer <jeton>.",
                challenge,
            )
        stored = transaction.get("token", _digest(token))
        challenge = {"WWW-Authenticate": 'Bearer realm="urssaf", error="invalid_token"'}
        if stored is None:
            raise _ApiError(
                401, "ER_API_JETON_INVALIDE", "Jeton d'accès invalide.", "Demandez un nouveau jeton.", challenge
            )
        if stored["expires_at"] <= now.timestamp():
            raise _ApiError(
                401, "ER_API_JETON_EXPIRE", "Jeton d'accès expiré.", "Demandez un nouveau jeton.", challenge
            )
        return stored["client_id"]

    # --- token endpoint ----------------------------------------------------

    def _post_token(self, request, headers):
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != _FORM_TYPE:
            raise _OAuthError(400, "invalid_request", f"Corps attendu en {_FORM_TYPE}.")
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _OAuthError(400, "invalid_request", "Corps illisible (UTF-8 attendu).") from None
        if any(len(values) > 1 for values in form.values()):
            raise _OAuthError(400, "invalid_request", "Paramètre répété.")
        params = {name: values[0] for name, values in form.items()}
        grant_type = params.get("grant_type")
        if not grant_type:
            raise _OAuthError(400, "invalid_request", "Paramètre grant_type manquant.")
        if grant_type != "client_credentials":
            raise _OAuthError(400, "unsupported_grant_type", "Seul client_credentials est accepté.")
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if not client_id or not client_secret:
            raise _OAuthError(
                401,
                "invalid_client",
                "client_id et client_secret attendus dans le corps (client_secret_post).",
            )
        requested_scope = params.get("scope")
        if requested_scope and set(requested_scope.split()) - {self.scope}:
            raise _OAuthError(400, "invalid_scope", f"Scope accepté : {self.scope}.")
        now = self.clock().timestamp()
        with self._transaction() as transaction:
            client = transaction.get("client", client_id)
            if client is None or not hmac.compare_digest(client["secret_sha256"], _digest(client_secret)):
                raise _OAuthError(401, "invalid_client", "Client inconnu ou secret erroné.")
            for stale in transaction.find("token"):
                if stale["expires_at"] <= now:
                    transaction.delete("token", stale["digest"])
            token = secrets.token_urlsafe(32)
            digest = _digest(token)
            transaction.put(
                "token",
                digest,
                {"digest": digest, "client_id": client_id, "expires_at": now + self.token_lifetime},
            )
        payload = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": self.scope,
        }
        return 200, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"}

    # --- accounts and mandates ---------------------------------------------

    def _store_account(self, transaction, fields):
        missing = [name for name in _ACCOUNT_REQUIRED if not fields.get(name)]
        if missing:
            raise ValueError(f"missing account fields: {', '.join(missing)}")
        try:
            key = _parse_identifier(fields.get("nir"), fields.get("siret"))
        except _ApiError as error:
            raise ValueError(error.payload[0]["description"]) from None
        periodicity = fields["periodicite"]
        if periodicity not in periods.PERIODICITIES:
            raise ValueError(f"periodicite must be one of {periods.PERIODICITIES}")
        categories = list(fields["categories"])
        if not categories or set(categories) - set(CATEGORIES):
            raise ValueError(f"categories must be a non-empty list of {CATEGORIES}")
        trade, chamber = fields["trade"], fields.get("chamber") or "general"
        if trade not in TRADES or chamber not in CHAMBERS:
            raise ValueError(f"trade must be one of {TRADES}, chamber one of {CHAMBERS}")

        def iso(value):
            return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()

        kind, _, value = key.partition(":")
        existing = transaction.get("account", key)
        account = {
            "key": key,
            "identifiant": {kind: value},
            "alias": fields.get("alias"),
            "nom": fields.get("nom"),
            "prenoms": fields.get("prenoms"),
            "dateNaissance": iso(fields["dateNaissance"]) if fields.get("dateNaissance") else None,
            "periodicite": periodicity,
            "dateDebutActivite": iso(fields["dateDebutActivite"]),
            "categories": categories,
            "versementLiberatoire": bool(fields.get("versementLiberatoire", False)),
            "eligible": bool(fields.get("eligible", True)),
            "motifNonEligibilite": fields.get("motifNonEligibilite"),
            "trade": trade,
            "chamber": chamber,
            "acre": bool(fields.get("acre", False)),
            "mandat_actif": existing["mandat_actif"] if existing else None,
        }
        if existing is None and fields.get("mandate_holder"):
            mandate = self._new_mandate(transaction, key, fields["mandate_holder"], account["dateDebutActivite"])
            account["mandat_actif"] = {"idMandat": mandate["idMandat"], "client_id": mandate["client_id"]}
        transaction.put("account", key, account)
        if existing is None:
            for sepa in fields.get("sepa_mandates") or ():
                iban = stdnum_iban.validate(sepa["iban"])
                rum = sepa.get("rum") or self._new_rum(transaction)
                transaction.put(
                    "sepa_mandate",
                    rum,
                    {
                        "rum": rum,
                        "account": key,
                        "iban": iban,
                        "bic": sepa.get("bic"),
                        "titulaire": sepa["titulaire"],
                        "dateSignature": iso(sepa["dateSignature"]),
                        "statut": "ACTIF",
                        "dateRevocation": None,
                        "seq": transaction.next_number("sepa_mandate_seq"),
                    },
                )

    def _new_mandate(self, transaction, account_key, client_id, signature_date, identity=None):
        number = transaction.next_number("mandate")
        mandate = {
            "idMandat": f"M{self.clock().year}{number:07d}",
            "account": account_key,
            "client_id": client_id,
            "statut": "ACTIF",
            "dateSignature": signature_date,
            "dateEffet": signature_date,
            "dateFin": None,
            **(identity or {}),
        }
        transaction.put("mandate", mandate["idMandat"], mandate)
        return mandate

    def _new_rum(self, transaction):
        return f"URSSAF-AE-{transaction.next_number('rum'):08d}"

    @staticmethod
    def _load_account(transaction, key):
        account = transaction.get("account", key)
        if account is None:
            raise _ApiError(
                404, "ER_API_COMPTE_INCONNU", "Compte inconnu.", "Aucun auto-entrepreneur avec cet identifiant."
            )
        return account

    @staticmethod
    def _holds_mandate(account, client_id):
        active = account["mandat_actif"]
        return bool(active) and active["client_id"] == client_id

    def _require_mandate(self, account, client_id):
        if not self._holds_mandate(account, client_id):
            raise _ApiError(
                403,
                "ER_API_MANDAT_ABSENT",
                "Mandat absent.",
                "Cette plateforme ne détient pas de mandat actif pour ce compte.",
            )

    def _get_account(self, transaction: StorageTransaction, call: _Call):
        account = self._load_account(transaction, call.query_identifier())
        mandate = None
        if self._holds_mandate(account, call.client_id):
            mandate = _mandate_view(transaction.get("mandate", account["mandat_actif"]["idMandat"]))
        return (
            200,
            {
                "identifiant": account["identifiant"],
                "eligible": account["eligible"],
                "motifNonEligibilite": account["motifNonEligibilite"],
                "periodicite": account["periodicite"],
                "dateDebutActivite": account["dateDebutActivite"],
                "categories": account["categories"],
                "versementLiberatoire": account["versementLiberatoire"],
                "mandat": mandate,
            },
            {},
        )

    def _post_mandate(self, transaction, call):
        body = call.json_object()
        key = _identifier_in_body(body)
        if "dateSignature" not in body:
            raise _invalid("Champ obligatoire manquant.", "Le champ dateSignature est obligatoire.")
        signature_date = _parse_date(body["dateSignature"], "dateSignature")
        identity = {
            "nom": _parse_text(body, "nom", required=False, max_length=70),
            "prenoms": _parse_text(body, "prenoms", required=False, max_length=70),
            "dateNaissance": None,
        }
        if body.get("dateNaissance") is not None:
            identity["dateNaissance"] = _parse_date(body["dateNaissance"], "dateNaissance").isoformat()
        account = self._load_account(transaction, key)
        if not account["eligible"]:
            raise _unprocessable(
                "ER_API_COMPTE_NON_ELIGIBLE",
                "Compte non éligible à la tierce déclaration.",
                account["motifNonEligibilite"],
            )
        if signature_date > call.today:
            raise _unprocessable(
                "ER_API_DATE_SIGNATURE_INVALIDE",
                "Date de signature invalide.",
                "La date de signature ne peut pas être dans le futur.",
            )
        mismatched = [
            name
            for name, given in identity.items()
            if given is not None and _fold(given) != _fold(account.get(name) or "")
        ]
        if mismatched:
            raise _unprocessable(
                "ER_API_IDENTITE_INCOHERENTE",
                "Identité incohérente.",
                f"Ne correspond pas au compte : {', '.join(mismatched)}.",
            )
        active = account["mandat_actif"]
        if active and active["client_id"] == call.client_id:
            return 200, _mandate_view(transaction.get("mandate", active["idMandat"])), {}
        if active:
            raise _ApiError(
                409,
                "ER_API_MANDAT_AUTRE_TIERS",
                "Mandat détenu par un autre tiers-déclarant.",
                "Un autre tiers-déclarant détient le mandat de ce compte.",
            )
        mandate = self._new_mandate(transaction, key, call.client_id, signature_date.isoformat(), identity)
        account["mandat_actif"] = {"idMandat": mandate["idMandat"], "client_id": call.client_id}
        transaction.put("account", key, account)
        return 201, _mandate_view(mandate), {}

    def _delete_mandate(self, transaction, call):
        mandate = transaction.get("mandate", call.parameter)
        if mandate is None or mandate["client_id"] != call.client_id:
            raise _ApiError(
                404,
                "ER_API_MANDAT_INCONNU",
                "Mandat inconnu.",
                "Aucun mandat de cette plateforme sous cet identifiant.",
            )
        if mandate["statut"] == "ACTIF":
            mandate.update(statut="TERMINE", dateFin=call.today.isoformat())
            transaction.put("mandate", mandate["idMandat"], mandate)
            account = transaction.get("account", mandate["account"])
            if account["mandat_actif"] and account["mandat_actif"]["idMandat"] == mandate["idMandat"]:
                account["mandat_actif"] = None
                transaction.put("account", account["key"], account)
        return 204, None, {}

    # --- estimates and declarations ----------------------------------------

    def _read_declaration_input(self, call, with_reference):
        body = call.json_object()
        key = _identifier_in_body(body)
        period = body.get("periode")
        if not isinstance(period, dict):
            raise _invalid("Champ obligatoire manquant.", "Le champ periode (dateDebut, dateFin) est obligatoire.")
        start = _parse_date(period.get("dateDebut"), "periode.dateDebut")
        end = _parse_date(period.get("dateFin"), "periode.dateFin")
        if start > end:
            raise _bad_request(
                "ER_API_DATE_INVALIDE", "Période incohérente.", "periode.dateDebut est postérieure à periode.dateFin."
            )
        lines = body.get("chiffresAffaires")
        if not isinstance(lines, list):
            raise _invalid("Champ obligatoire manquant.", "Le champ chiffresAffaires (liste) est obligatoire.")
        turnover = {}
        for line in lines:
            if not isinstance(line, dict) or line.get("categorie") not in CATEGORIES:
                raise _bad_request(
                    "ER_API_CATEGORIE_INVALIDE", "Catégorie invalide.", f"Catégories admises : {', '.join(CATEGORIES)}."
                )
            if line["categorie"] in turnover:
                raise _bad_request(
                    "ER_API_CATEGORIE_INVALIDE", "Catégorie en double.", "Une seule ligne par catégorie."
                )
            turnover[line["categorie"]] = _parse_amount(line.get("montant"), "chiffresAffaires.montant")
        reference = None
        if with_reference:
            reference = _parse_text(body, "referenceTiers", max_length=REFERENCE_MAX_LENGTH)
        return key, start, end, turnover, reference

    def _check_declarable(self, transaction, call, key, start, end, turnover):
        account = self._load_account(transaction, key)
        self._require_mandate(account, call.client_id)
        if not periods.is_period_ended(end, call.today):
            raise _unprocessable(
                "ER_API_PERIODE_NON_ECHUE",
                "Période non échue.",
                "La période ne pourra être déclarée qu'à partir du lendemain de sa fin.",
            )
        periodicity = account["periodicite"]
        activity_start = date.fromisoformat(account["dateDebutActivite"])
        if not periods.is_valid_period(activity_start, periodicity, start, end):
            expected = periods.expected_period(activity_start, periodicity, start)
            hint = (
                f"attendu : du {expected[0].isoformat()} au {expected[1].isoformat()}"
                if expected
                else f"antérieure au début d'activité ({activity_start.isoformat()})"
            )
            raise _unprocessable(
                "ER_API_PERIODE_INVALIDE", "Période invalide.", f"Période {periodicity.lower()}, {hint}."
            )
        foreign = [c for c, amount in turnover.items() if amount and c not in account["categories"]]
        if foreign:
            raise _unprocessable(
                "ER_API_CATEGORIE_NON_AUTORISEE",
                "Catégorie non exercée par ce compte.",
                f"Catégories du compte : {', '.join(account['categories'])}.",
            )
        return account

    @staticmethod
    def _contributions(account, start, turnover):
        exercised = {c: amount for c, amount in turnover.items() if c in account["categories"]}
        # Accounts stored before ACRE was kept have no "acre": none of them had it.
        acre_start = date.fromisoformat(account["dateDebutActivite"]) if account.get("acre") else None
        try:
            lines = compute_contributions(
                exercised,
                start,
                account["trade"],
                account["versementLiberatoire"],
                account["chamber"],
                acre_start=acre_start,
            )
        except ValueError:
            # The engine knows no rates that old.
            raise _unprocessable(
                "ER_API_PERIODE_INVALIDE",
                "Période trop ancienne.",
                "Le bac à sable ne connaît pas les taux de cette période.",
            ) from None
        stored = [
            {
                "categorie": line.category,
                "libelle": line.label,
                "base": str(line.base.quantize(_CENT)),
                "taux": str(line.rate),
                "montant": str(line.amount.quantize(_CENT)),
            }
            for line in lines
        ]
        total = sum((line.amount for line in lines), _ZERO).quantize(_CENT)
        return stored, total

    def _post_estimate(self, transaction, call):
        key, start, end, turnover, _ = self._read_declaration_input(call, with_reference=False)
        account = self._check_declarable(transaction, call, key, start, end, turnover)
        lines, total = self._contributions(account, start, turnover)
        return (
            200,
            {
                "periode": {"dateDebut": start.isoformat(), "dateFin": end.isoformat()},
                "cotisations": _lines_view(lines),
                "montantTotal": total,
            },
            {},
        )

    def _post_declaration(self, transaction, call):
        key, start, end, turnover, reference = self._read_declaration_input(call, with_reference=True)
        account = self._check_declarable(transaction, call, key, start, end, turnover)
        period_key = f"{key}|{start.isoformat()}"
        existing = transaction.get("declaration_period", period_key)
        if existing:
            raise _ApiError(
                409, "ER_API_DECLARATION_EXISTANTE", "Période déjà déclarée.", existing["numeroDeclaration"]
            )
        reference_key = f"{call.client_id}|{reference}"
        existing = transaction.get("declaration_reference", reference_key)
        if existing:
            raise _ApiError(
                409,
                "ER_API_REFERENCE_TIERS_EXISTANTE",
                "referenceTiers déjà utilisée pour une autre déclaration.",
                existing["numeroDeclaration"],
            )
        lines, total = self._contributions(account, start, turnover)
        sequence = transaction.next_number("declaration")
        number = f"D{call.today.year}{sequence:07d}"
        declaration = {
            "numeroDeclaration": number,
            "seq": sequence,
            "account": key,
            "client_id": call.client_id,
            "referenceTiers": reference,
            "periode": {"dateDebut": start.isoformat(), "dateFin": end.isoformat()},
            "dateDeclaration": call.now.isoformat(timespec="seconds"),
            "dateExigibilite": periods.due_date(end, account["periodicite"]).isoformat(),
            "chiffresAffaires": [
                {"categorie": category, "montant": str(amount)} for category, amount in turnover.items()
            ],
            "cotisations": lines,
            "montantTotal": str(total),
            "montantRestantDu": str(total),
            "statut": "DECLAREE",
            "paiements": [],
        }
        transaction.put("declaration", number, declaration)
        transaction.put("declaration_period", period_key, {"numeroDeclaration": number})
        transaction.put("declaration_reference", reference_key, {"numeroDeclaration": number})
        return 201, _declaration_view(declaration), {}

    def _get_declarations(self, transaction, call):
        key = call.query_identifier()
        start = call.query.get("dateDebut")
        if start is not None:
            start = _parse_date(start, "dateDebut").isoformat()
        reference = call.query.get("referenceTiers")
        account = self._load_account(transaction, key)
        self._require_mandate(account, call.client_id)
        declarations = [
            declaration
            for declaration in transaction.find("declaration", account=key)
            if (start is None or declaration["periode"]["dateDebut"] == start)
            and (reference is None or declaration["referenceTiers"] == reference)
        ]
        declarations = [self._take_debits(transaction, declaration, call.today) for declaration in declarations]
        declarations.sort(key=lambda declaration: declaration["seq"], reverse=True)
        return 200, [_declaration_view(declaration) for declaration in declarations], {}

    # --- payments ------------------------------------------------------------

    def _post_payment(self, transaction, call):
        body = call.json_object()
        number = _parse_text(body, "numeroDeclaration", max_length=64)
        if "montant" not in body:
            raise _invalid("Champ obligatoire manquant.", "Le champ montant est obligatoire.")
        amount = _parse_amount(body["montant"], "montant", minimum=_CENT)
        iban = _parse_iban(body.get("iban"))
        debit_date = None
        if body.get("datePrelevement") is not None:
            debit_date = _parse_date(body["datePrelevement"], "datePrelevement")
        declaration = transaction.get("declaration", number)
        if declaration is None:
            raise _ApiError(
                404, "ER_API_DECLARATION_INCONNUE", "Déclaration inconnue.", "Aucune déclaration sous ce numéro."
            )
        account = transaction.get("account", declaration["account"])
        self._require_mandate(account, call.client_id)
        declaration = self._take_debits(transaction, declaration, call.today)
        remaining = Decimal(declaration["montantRestantDu"])
        if declaration["paiements"] and not remaining:
            raise _ApiError(409, "ER_API_PAIEMENT_EXISTANT", "Déclaration déjà payée.", declaration["paiements"][-1])
        active_sepa = transaction.find("sepa_mandate", account=account["key"], iban=iban, statut="ACTIF")
        if not active_sepa:
            raise _unprocessable(
                "ER_API_MANDAT_SEPA_ABSENT",
                "Aucun mandat SEPA actif pour cet IBAN.",
                "Enregistrez un mandat SEPA pour ce compte bancaire avant de payer.",
            )
        if amount > remaining:
            raise _unprocessable(
                "ER_API_MONTANT_INVALIDE", "Montant supérieur au reste dû.", f"Reste dû : {remaining} EUR."
            )
        if debit_date is None:
            due = date.fromisoformat(declaration["dateExigibilite"])
            debit_date = periods.working_day_on_or_after(max(due, call.today))
        elif debit_date < call.today:
            raise _unprocessable(
                "ER_API_DATE_PRELEVEMENT_INVALIDE",
                "Date de prélèvement invalide.",
                "La date de prélèvement ne peut pas être passée.",
            )
        reference = f"P{call.today.year}{transaction.next_number('payment'):07d}"
        payment = {
            "referencePaiement": reference,
            "numeroDeclaration": number,
            "montant": str(amount),
            "datePrelevement": debit_date.isoformat(),
            "statut": "ENREGISTRE",
            "rum": active_sepa[0]["rum"],
            "client_id": call.client_id,
        }
        transaction.put("payment", reference, payment)
        remaining -= amount
        declaration.update(
            montantRestantDu=str(remaining),
            statut="PAYEE" if not remaining else "PAYEE_PARTIELLEMENT",
            paiements=declaration["paiements"] + [reference],
        )
        transaction.put("declaration", number, declaration)
        return (
            201,
            {
                "referencePaiement": reference,
                "numeroDeclaration": number,
                "montant": amount,
                "datePrelevement": payment["datePrelevement"],
                "statut": "ENREGISTRE",
            },
            {},
        )

    @staticmethod
    def _take_debits(transaction, declaration, today):
        """Take the SEPA debits of ``declaration``'s payments whose debit date
        has come: the bank pays them, except from ``REJECTED_DEBIT_IBAN``,
        whose debits are rejected (the amount is due again). Each debit is
        taken once. Returns the declaration as it now stands."""
        remaining = Decimal(declaration["montantRestantDu"])
        changed = False
        for reference in declaration["paiements"]:
            payment = transaction.get("payment", reference)
            if payment is None or payment.get("preleve") or payment["statut"] != "ENREGISTRE":
                continue
            if date.fromisoformat(payment["datePrelevement"]) > today:
                continue
            mandate = transaction.get("sepa_mandate", payment["rum"]) or {}
            if mandate.get("iban") == REJECTED_DEBIT_IBAN:
                payment["statut"] = "REJETE"
                remaining += Decimal(payment["montant"])
                changed = True
            payment["preleve"] = True
            transaction.put("payment", reference, payment)
        if changed:
            if not remaining:
                status = "PAYEE"
            elif remaining == Decimal(declaration["montantTotal"]):
                status = "DECLAREE"
            else:
                status = "PAYEE_PARTIELLEMENT"
            declaration.update(montantRestantDu=str(remaining), statut=status)
            transaction.put("declaration", declaration["numeroDeclaration"], declaration)
        return declaration

    # --- SEPA mandates -------------------------------------------------------

    def _get_sepa_mandates(self, transaction, call):
        key = call.query_identifier()
        account = self._load_account(transaction, key)
        self._require_mandate(account, call.client_id)
        mandates = sorted(transaction.find("sepa_mandate", account=key), key=lambda mandate: mandate["seq"])
        return 200, [_sepa_view(mandate) for mandate in mandates], {}

    def _post_sepa_mandate(self, transaction, call):
        body = call.json_object()
        key = _identifier_in_body(body)
        iban = _parse_iban(body.get("iban"))
        holder = _parse_text(body, "titulaire", max_length=70)
        if "dateSignature" not in body:
            raise _invalid("Champ obligatoire manquant.", "Le champ dateSignature est obligatoire.")
        signature_date = _parse_date(body["dateSignature"], "dateSignature")
        bic = body.get("bic")
        if bic is not None and not (isinstance(bic, str) and stdnum_bic.is_valid(bic)):
            raise _bad_request("ER_API_BIC_INVALIDE", "BIC invalide.", "Le champ bic n'est pas un BIC valide.")
        account = self._load_account(transaction, key)
        self._require_mandate(account, call.client_id)
        if signature_date > call.today:
            raise _unprocessable(
                "ER_API_DATE_SIGNATURE_INVALIDE",
                "Date de signature invalide.",
                "La date de signature ne peut pas être dans le futur.",
            )
        existing = transaction.find("sepa_mandate", account=key, iban=iban, statut="ACTIF")
        if existing:
            raise _ApiError(
                409, "ER_API_MANDAT_SEPA_EXISTANT", "Mandat SEPA déjà actif pour cet IBAN.", existing[0]["rum"]
            )
        rum = self._new_rum(transaction)
        mandate = {
            "rum": rum,
            "account": key,
            "iban": iban,
            "bic": stdnum_bic.compact(bic) if bic else None,
            "titulaire": holder,
            "dateSignature": signature_date.isoformat(),
            "statut": "ACTIF",
            "dateRevocation": None,
            "seq": transaction.next_number("sepa_mandate_seq"),
        }
        transaction.put("sepa_mandate", rum, mandate)
        return 201, _sepa_view(mandate), {}

    def _delete_sepa_mandate(self, transaction, call):
        mandate = transaction.get("sepa_mandate", call.parameter)
        account = mandate and transaction.get("account", mandate["account"])
        if not mandate or not self._holds_mandate(account, call.client_id) or mandate["statut"] != "ACTIF":
            raise _ApiError(
                404,
                "ER_API_MANDAT_SEPA_INCONNU",
                "Mandat SEPA inconnu.",
                "Aucun mandat SEPA actif sous cette RUM pour un compte de cette plateforme.",
            )
        mandate.update(statut="REVOQUE", dateRevocation=call.today.isoformat())
        transaction.put("sepa_mandate", mandate["rum"], mandate)
        return 204, None, {}


class SandboxAdapter(BaseAdapter):
    """A requests transport adapter that answers from a :class:`Sandbox`,
    in-process; mount it on a Session for the sandbox's base URL."""

    def __init__(self, sandbox: Sandbox):
        super().__init__()
        self.sandbox = sandbox

    def _sandbox_path(self, path):
        # The base URL may carry a prefix (a gateway path): drop it.
        for anchor in (TOKEN_PATH, self.sandbox.base_path):
            index = path.find(anchor)
            if index > 0 and path[index + len(anchor) : index + len(anchor) + 1] in ("", "/"):
                return path[index:]
        return path

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        answer = self.sandbox.handle(
            SandboxRequest(
                method=request.method,
                path=self._sandbox_path(url.path or "/"),
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers=CaseInsensitiveDict(request.headers),
                body=body or b"",
            )
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.body)
        response._content = answer.body
        response._content_consumed = True
        response.encoding = "utf-8"
        response.reason = HTTPStatus(answer.status).phrase
        response.url = request.url
        response.request = request
        response.connection = self
        response.elapsed = timedelta(0)
        return response

    def close(self):
        """Nothing to release: no connection is ever opened."""
