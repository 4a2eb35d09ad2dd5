"""Business rules of the embedded sandbox, through ``Sandbox.handle`` and
through ``SandboxAdapter`` mounted on a plain ``requests.Session``."""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests.structures import CaseInsensitiveDict
from requests_oauthlib import OAuth2Session
from stdnum import iban as stdnum_iban
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

from ..sandbox import (
    DEFAULT_BASE_PATH,
    EMBEDDED_BASE_URL,
    TOKEN_PATH,
    Sandbox,
    SandboxAdapter,
    SandboxRequest,
)
from ..seed import (
    REJECTED_DEBIT_IBAN,
    SEED_ACCOUNTS,
    SEED_CLIENTS,
    seed_account,
    seed_identifier,
    seed_table_rst,
    synthetic_nir,
    synthetic_siret,
)
from ..storage import MemoryStorage
from ..testing import Clock
from .official_figures import OFFICIAL_LINES

PARIS_WINTER = timezone(timedelta(hours=1))
CENT = Decimal("0.01")
SEEDED_IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "FR1420041010050500013M02606"
MONTHLY = seed_identifier("monthly_trader")
QUARTERLY = seed_identifier("quarterly_craftsman_moselle")
OCTOBER = {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"}
_UNSET = object()


@dataclass
class Result:
    status: int
    headers: CaseInsensitiveDict
    raw: bytes

    @property
    def json(self):
        return json.loads(self.raw, parse_float=Decimal) if self.raw else None

    @property
    def code(self):
        errors = self.json
        assert isinstance(errors, list) and errors, self.raw
        assert set(errors[0]) == {"code", "message", "description"}
        return errors[0]["code"]


class HandleTransport:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    def send(self, method, path, query, headers, body):
        answer = self.sandbox.handle(SandboxRequest(method, path, query or {}, headers, body))
        return Result(answer.status, CaseInsensitiveDict(answer.headers), answer.body)


class AdapterTransport:
    def __init__(self, sandbox):
        self.session = requests.Session()
        self.session.mount(EMBEDDED_BASE_URL, SandboxAdapter(sandbox))

    def send(self, method, path, query, headers, body):
        response = self.session.request(method, EMBEDDED_BASE_URL + path, params=query, headers=headers, data=body)
        return Result(response.status_code, response.headers, response.content)


class Api:
    """A caller of the sandbox with one platform's token."""

    def __init__(self, transport, client_id=None):
        self.transport = transport
        self.access_token = self.token(client_id)["access_token"] if client_id else None

    def token(self, client_id="demo-tiers", secret=None, **extra):
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": SEED_CLIENTS.get(client_id) if secret is None else secret,
            **extra,
        }
        result = self.form(form)
        assert result.status == 200, result.raw
        return result.json

    def form(self, fields, headers=None):
        body = "&".join(f"{name}={value}" for name, value in fields.items()).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.transport.send("POST", TOKEN_PATH, None, headers, body)

    def call(self, method, route, payload=_UNSET, *, query=None, token=_UNSET, headers=None, body=None):
        headers = dict(headers or {})
        token = self.access_token if token is _UNSET else token
        if token:
            headers["Authorization"] = "Bearer " + token
        if payload is not _UNSET:
            body = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        return self.transport.send(method, DEFAULT_BASE_PATH + route, query, headers, body or b"")

    def get(self, route, **query):
        return self.call("GET", route, query=query)

    def post(self, route, payload, **kwargs):
        return self.call("POST", route, payload, **kwargs)

    def delete(self, route):
        return self.call("DELETE", route)

    # shortcuts for the usual steps

    def mandate(self, identifier, **extra):
        return self.post("/mandats", {"identifiant": identifier, "dateSignature": "2026-11-02", **extra})

    def declaration_input(self, identifier, period=None, turnover=None, **extra):
        period = period or OCTOBER
        if turnover is None:
            turnover = {"VENTE_MARCHANDISES": 1000}
        lines = [{"categorie": category, "montant": amount} for category, amount in turnover.items()]
        return {"identifiant": identifier, "periode": period, "chiffresAffaires": lines, **extra}

    def estimate(self, identifier, **kwargs):
        return self.post("/estimations", self.declaration_input(identifier, **kwargs))

    def declare(self, identifier, reference="ref-1", **kwargs):
        return self.post("/declarations", self.declaration_input(identifier, referenceTiers=reference, **kwargs))


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=PARIS_WINTER))


@pytest.fixture
def sandbox(clock):
    return Sandbox(MemoryStorage(), clock=clock)


@pytest.fixture(params=["handle", "adapter"])
def transport(request, sandbox):
    return HandleTransport(sandbox) if request.param == "handle" else AdapterTransport(sandbox)


@pytest.fixture
def api(transport):
    return Api(transport, "demo-tiers")


@pytest.fixture
def other(transport):
    return Api(transport, "autre-tiers")


@pytest.fixture
def anonymous(transport):
    return Api(transport)


@pytest.fixture
def declared(api):
    """The monthly trader's October declared by this platform."""
    assert api.mandate(MONTHLY).status == 201
    result = api.declare(MONTHLY, turnover={"VENTE_MARCHANDISES": 2500.5})
    assert result.status == 201, result.raw
    return result.json


def api_lines(official):
    """The official figures as the API's JSON lines."""
    return [
        {"categorie": category, "libelle": label, "base": base, "taux": rate, "montant": amount}
        for category, label, base, rate, amount in OFFICIAL_LINES[official]
    ]


# --- token endpoint ---------------------------------------------------------


def test_token_is_an_opaque_bearer_token(anonymous):
    granted = anonymous.token("demo-tiers", scope="tiersdecl.ae")
    assert granted["token_type"] == "Bearer"
    assert granted["expires_in"] == 3600
    assert granted["scope"] == "tiersdecl.ae"
    assert len(granted["access_token"]) >= 32
    assert anonymous.token("demo-tiers")["access_token"] != granted["access_token"]


def test_token_answer_is_not_cacheable_and_carries_a_correlation_id(anonymous):
    result = anonymous.form(
        {"grant_type": "client_credentials", "client_id": "demo-tiers", "client_secret": "demo-secret"}
    )
    assert result.headers["Cache-Control"] == "no-store"
    assert result.headers["x-correlationid"]


@pytest.mark.parametrize(
    "fields, status, error",
    [
        ({"client_id": "demo-tiers", "client_secret": "demo-secret"}, 400, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "demo-tiers", "client_secret": "demo-secret"},
            400,
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "demo-tiers", "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "demo-secret"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials", "client_id": "demo-tiers"}, 401, "invalid_client"),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "demo-tiers",
                "client_secret": "demo-secret",
                "scope": "other.api",
            },
            400,
            "invalid_scope",
        ),
    ],
)
def test_token_refusals(anonymous, fields, status, error):
    result = anonymous.form(fields)
    assert (result.status, result.json["error"]) == (status, error)
    assert "demo-secret" not in result.raw.decode()


def test_token_requires_client_secret_post_not_basic(anonymous):
    result = anonymous.form(
        {"grant_type": "client_credentials"}, headers={"Authorization": "Basic ZGVtby10aWVyczpkZW1vLXNlY3JldA=="}
    )
    assert (result.status, result.json["error"]) == (401, "invalid_client")


def test_token_requires_a_form_body(anonymous):
    result = anonymous.transport.send(
        "POST", TOKEN_PATH, None, {"Content-Type": "application/json"}, b'{"grant_type": "client_credentials"}'
    )
    assert (result.status, result.json["error"]) == (400, "invalid_request")
    assert anonymous.transport.send("GET", TOKEN_PATH, None, {}, b"").status == 405


# --- bearer tokens, errors, routing -----------------------------------------


def test_api_calls_need_a_bearer_token(anonymous):
    result = anonymous.call("GET", "/comptes", query=MONTHLY)
    assert (result.status, result.code) == (401, "ER_API_JETON_ABSENT")
    result = anonymous.call("GET", "/comptes", query=MONTHLY, token="forged")
    assert (result.status, result.code) == (401, "ER_API_JETON_INVALIDE")
    assert "Bearer" in result.headers["WWW-Authenticate"]


def test_tokens_expire_by_the_clock(api, clock):
    clock.advance(seconds=3599)
    assert api.get("/comptes", **MONTHLY).status == 200
    clock.advance(seconds=1)
    result = api.get("/comptes", **MONTHLY)
    assert (result.status, result.code) == (401, "ER_API_JETON_EXPIRE")
    api.access_token = api.token()["access_token"]
    assert api.get("/comptes", **MONTHLY).status == 200


def test_token_lifetime_is_configurable(clock):
    api = Api(HandleTransport(Sandbox(MemoryStorage(), clock=clock, token_lifetime=60)), "demo-tiers")
    clock.advance(seconds=61)
    assert api.get("/comptes", **MONTHLY).code == "ER_API_JETON_EXPIRE"


def test_sandboxes_sharing_a_storage_share_tokens_and_state(clock):
    storage = MemoryStorage()
    first = Api(HandleTransport(Sandbox(storage, clock=clock)), "demo-tiers")
    second = Api(HandleTransport(Sandbox(storage, clock=clock)))
    second.access_token = first.access_token
    assert first.mandate(MONTHLY).status == 201
    assert second.mandate(MONTHLY).status == 200  # same platform, same mandate, seeded once
    assert second.get("/comptes", **MONTHLY).json["mandat"]["statut"] == "ACTIF"


def test_correlation_id_is_echoed_or_generated(api):
    echoed = api.call("GET", "/comptes", query=MONTHLY, headers={"x-correlationid": "abc-123"})
    assert echoed.headers["x-correlationid"] == "abc-123"
    generated = api.get("/comptes", **MONTHLY)
    assert re.fullmatch(r"[0-9a-f-]{36}", generated.headers["x-correlationid"])
    assert generated.headers["Content-Type"] == "application/json"


def test_unknown_route_and_wrong_method(api):
    result = api.get("/inconnu")
    assert (result.status, result.code) == (404, "ER_API_RESSOURCE_INCONNUE")
    result = api.delete("/comptes")
    assert (result.status, result.code) == (405, "ER_API_METHODE_NON_AUTORISEE")
    assert result.headers["Allow"] == "GET"


def test_base_path_is_configurable(clock):
    sandbox = Sandbox(MemoryStorage(), clock=clock, base_path="/custom/v2/")
    api = Api(HandleTransport(sandbox), "demo-tiers")
    assert api.get("/comptes", **MONTHLY).status == 404  # the default path is gone
    result = api.transport.send(
        "GET", "/custom/v2/comptes", MONTHLY, {"Authorization": "Bearer " + api.access_token}, b""
    )
    assert result.status == 200


# --- comptes ------------------------------------------------------------------


def test_account_by_nir(api):
    result = api.get("/comptes", **MONTHLY)
    assert result.status == 200
    assert result.json == {
        "identifiant": MONTHLY,
        "eligible": True,
        "motifNonEligibilite": None,
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2019-03-01",
        "categories": ["VENTE_MARCHANDISES"],
        "versementLiberatoire": False,
        "mandat": None,
    }


def test_account_by_siret_and_corsican_nir(api):
    assert api.get("/comptes", **QUARTERLY).json["periodicite"] == "TRIMESTRIELLE"
    corsica = seed_identifier("cipav_corsica")
    assert corsica["nir"][5:7] == "2A"
    assert api.get("/comptes", **corsica).json["categories"] == ["PRESTATION_SERVICES_BNC_CIPAV"]


def test_account_not_eligible_says_why(api):
    account = api.get("/comptes", **seed_identifier("not_eligible")).json
    assert account["eligible"] is False
    assert "micro-social" in account["motifNonEligibilite"]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ({}, 400, "ER_API_IDENTIFIANT_INVALIDE"),
        ({**MONTHLY, **QUARTERLY}, 400, "ER_API_IDENTIFIANT_INVALIDE"),
        ({"nir": "288047511102372"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),  # wrong key
        ({"nir": "388047511102371"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),  # not 1/2
        ({"siret": "81234567600018"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),  # Luhn
        ({"nir": "190017511100194"}, 404, "ER_API_COMPTE_INCONNU"),  # valid, unknown
        ({"siret": "40123456200015"}, 404, "ER_API_COMPTE_INCONNU"),
    ],
)
def test_account_lookup_errors(api, query, status, code):
    result = api.get("/comptes", **query)
    assert (result.status, result.code) == (status, code)
    for value in query.values():
        assert value not in result.raw.decode()


# --- mandats ------------------------------------------------------------------


def test_register_mandate_then_again_is_idempotent(api):
    created = api.mandate(MONTHLY)
    assert created.status == 201
    assert created.json["statut"] == "ACTIF"
    assert created.json["dateEffet"] == "2026-11-02"
    assert created.json["dateFin"] is None
    again = api.mandate(MONTHLY)
    assert (again.status, again.json) == (200, created.json)
    assert api.get("/comptes", **MONTHLY).json["mandat"] == created.json


def test_mandate_held_by_another_platform(api, other):
    result = api.mandate(seed_identifier("other_platform"))
    assert (result.status, result.code) == (409, "ER_API_MANDAT_AUTRE_TIERS")
    assert api.get("/comptes", **seed_identifier("other_platform")).json["mandat"] is None
    held = other.get("/comptes", **seed_identifier("other_platform")).json["mandat"]
    assert held["statut"] == "ACTIF"
    # once the other platform ends it, this platform can register its own
    assert other.delete("/mandats/" + held["idMandat"]).status == 204
    assert api.mandate(seed_identifier("other_platform")).status == 201
    assert other.mandate(seed_identifier("other_platform")).code == "ER_API_MANDAT_AUTRE_TIERS"


def test_mandate_refused_for_a_non_eligible_account(api):
    result = api.mandate(seed_identifier("not_eligible"))
    assert (result.status, result.code) == (422, "ER_API_COMPTE_NON_ELIGIBLE")
    assert "micro-social" in result.json[0]["description"]


def test_mandate_identity_is_checked_when_given(api):
    lea = seed_identifier("liberal_bnc_liberatoire")
    wrong = api.mandate(lea, nom="DURAND", prenoms="Léa")
    assert (wrong.status, wrong.code) == (422, "ER_API_IDENTITE_INCOHERENTE")
    assert "nom" in wrong.json[0]["description"]
    assert api.mandate(lea, nom="Dubois", prenoms="LEA", dateNaissance="1992-07-25").status == 201


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ({"identifiant": MONTHLY}, 400, "ER_API_REQUETE_INVALIDE"),
        ({"identifiant": MONTHLY, "dateSignature": "02/11/2026"}, 400, "ER_API_DATE_INVALIDE"),
        ({"identifiant": MONTHLY, "dateSignature": "2026-02-30"}, 400, "ER_API_DATE_INVALIDE"),
        ({"identifiant": {}, "dateSignature": "2026-11-02"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),
        ({"identifiant": {**MONTHLY, **QUARTERLY}, "dateSignature": "2026-11-02"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),
        ({"dateSignature": "2026-11-02"}, 400, "ER_API_IDENTIFIANT_INVALIDE"),
        ({"identifiant": MONTHLY, "dateSignature": "2026-11-28"}, 422, "ER_API_DATE_SIGNATURE_INVALIDE"),
        ({"identifiant": {"nir": "190017511100194"}, "dateSignature": "2026-11-02"}, 404, "ER_API_COMPTE_INCONNU"),
    ],
)
def test_mandate_input_errors(api, payload, status, code):
    result = api.post("/mandats", payload)
    assert (result.status, result.code) == (status, code)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"[]", "application/json"),
        (b"not json", "application/json"),
        (b"", "application/json"),
        (b'{"identifiant": {}}', "text/plain"),
    ],
)
def test_post_body_must_be_a_json_object(api, body, content_type):
    result = api.call("POST", "/mandats", body=body, headers={"Content-Type": content_type})
    assert (result.status, result.code) == (400, "ER_API_REQUETE_INVALIDE")


def test_end_mandate(api):
    mandate = api.mandate(MONTHLY).json
    result = api.delete("/mandats/" + mandate["idMandat"])
    assert (result.status, result.raw) == (204, b"")
    assert api.get("/comptes", **MONTHLY).json["mandat"] is None
    assert api.estimate(MONTHLY).code == "ER_API_MANDAT_ABSENT"
    # ending it again is harmless (a retry after a lost answer)
    assert api.delete("/mandats/" + mandate["idMandat"]).status == 204
    renewed = api.mandate(MONTHLY)
    assert renewed.status == 201
    assert renewed.json["idMandat"] != mandate["idMandat"]


def test_end_mandate_of_someone_else_or_unknown(api, other):
    mine = api.mandate(MONTHLY).json
    result = other.delete("/mandats/" + mine["idMandat"])
    assert (result.status, result.code) == (404, "ER_API_MANDAT_INCONNU")
    assert api.get("/comptes", **MONTHLY).json["mandat"]["statut"] == "ACTIF"
    assert api.delete("/mandats/M20269999999").code == "ER_API_MANDAT_INCONNU"


# --- estimations ----------------------------------------------------------------


def test_estimate_computes_without_side_effect(api):
    api.mandate(MONTHLY)
    result = api.estimate(MONTHLY, turnover={"VENTE_MARCHANDISES": 1000})
    assert result.status == 200
    estimate = result.json
    assert estimate["periode"] == OCTOBER
    assert estimate["cotisations"] == api_lines("trader_october_1000")
    assert estimate["montantTotal"] == sum(line["montant"] for line in estimate["cotisations"])
    social = [line for line in estimate["cotisations"] if line["taux"] == Decimal("12.3")]
    assert [line["montant"] for line in social] == [Decimal("123.00")]
    assert api.get("/declarations", **MONTHLY).json == []
    assert api.declare(MONTHLY).status == 201


def test_estimate_passes_trade_chamber_and_versement_liberatoire(api):
    lea = seed_identifier("liberal_bnc_liberatoire")
    api.mandate(lea)
    turnover = {"PRESTATION_SERVICES_BNC": 3000}
    estimate = api.estimate(lea, turnover=turnover).json
    assert estimate["cotisations"] == api_lines("liberal_vl_october_3000")
    api.mandate(QUARTERLY)
    quarter = {"dateDebut": "2026-07-01", "dateFin": "2026-09-30"}
    turnover = {"PRESTATION_SERVICES_BIC": 4000, "VENTE_MARCHANDISES": 1500.25}
    estimate = api.estimate(QUARTERLY, period=quarter, turnover=turnover).json
    assert estimate["cotisations"] == api_lines("craftsman_moselle_q3_small")


ACRE_AE = seed_identifier("acre_new_business")
ACRE_FIRST_PERIOD = {"dateDebut": "2026-07-06", "dateFin": "2026-10-31"}


def social_lines(lines):
    return [
        (line["categorie"], line["taux"], line["montant"])
        for line in lines
        if line["libelle"] == "Cotisations sociales"
    ]


def test_acre_reduces_the_social_contributions_of_estimates_and_declarations(api):
    api.mandate(ACRE_AE)
    turnover = {"PRESTATION_SERVICES_BNC": 3000}
    estimate = api.estimate(ACRE_AE, period=ACRE_FIRST_PERIOD, turnover=turnover).json
    # Started on 2026-07-06: 75 % of 25.6 % = 19.2 %, 3000 x 19.2 % = 576
    # (768 without ACRE); the CFP (0.2 %) is not reduced.
    assert estimate["cotisations"] == [
        {"categorie": "PRESTATION_SERVICES_BNC", "libelle": "Cotisations sociales", "base": Decimal("3000.00"),
         "taux": Decimal("19.2"), "montant": Decimal("576.00")},
        {"categorie": "PRESTATION_SERVICES_BNC", "libelle": "Contribution à la formation professionnelle",
         "base": Decimal("3000.00"), "taux": Decimal("0.2"), "montant": Decimal("6.00")},
    ]  # fmt: skip
    assert estimate["montantTotal"] == Decimal("582.00")
    declared = api.declare(ACRE_AE, period=ACRE_FIRST_PERIOD, turnover=turnover).json
    assert (declared["cotisations"], declared["montantTotal"]) == (estimate["cotisations"], Decimal("582.00"))
    assert declared["montantRestantDu"] == Decimal("582.00")


def test_acre_ends_with_the_third_quarter_after_the_start_quarter(api, clock):
    clock.now = datetime(2027, 8, 5, 10, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    api.mandate(ACRE_AE, dateSignature="2027-08-02")
    turnover = {"PRESTATION_SERVICES_BNC": 1000}
    june = {"dateDebut": "2027-06-01", "dateFin": "2027-06-30"}
    july = {"dateDebut": "2027-07-01", "dateFin": "2027-07-31"}
    assert social_lines(api.estimate(ACRE_AE, period=june, turnover=turnover).json["cotisations"]) == [
        ("PRESTATION_SERVICES_BNC", Decimal("19.2"), Decimal("192.00"))
    ]
    assert social_lines(api.estimate(ACRE_AE, period=july, turnover=turnover).json["cotisations"]) == [
        ("PRESTATION_SERVICES_BNC", Decimal("25.6"), Decimal("256.00"))
    ]


def test_acre_before_july_2026_halves_the_rate(sandbox):
    identifier = {"siret": synthetic_siret(77)}
    sandbox.add_account(
        **identifier,
        periodicite="MENSUELLE",
        dateDebutActivite="2026-03-02",
        categories=["VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC"],
        trade="commercant",
        acre=True,
    )
    api = Api(HandleTransport(sandbox), "demo-tiers")
    api.mandate(identifier)
    turnover = {"VENTE_MARCHANDISES": 1000, "PRESTATION_SERVICES_BIC": 1000}
    # 50 % of 12.3 % = 6.15 -> 6.2 %; of 21.2 % = 10.6 % (123 and 212 without ACRE)
    assert social_lines(api.estimate(identifier, turnover=turnover).json["cotisations"]) == [
        ("VENTE_MARCHANDISES", Decimal("6.2"), Decimal("62.00")),
        ("PRESTATION_SERVICES_BIC", Decimal("10.6"), Decimal("106.00")),
    ]
    sandbox.add_account(
        **identifier,
        periodicite="MENSUELLE",
        dateDebutActivite="2026-03-02",
        categories=["VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC"],
        trade="commercant",
    )
    assert social_lines(api.estimate(identifier, turnover=turnover).json["cotisations"]) == [
        ("VENTE_MARCHANDISES", Decimal("12.3"), Decimal("123.00")),
        ("PRESTATION_SERVICES_BIC", Decimal("21.2"), Decimal("212.00")),
    ]


def test_the_account_answer_keeps_to_the_contract(api):
    # The contract's Compte has no ACRE field: the sandbox says nothing of it.
    account = api.get("/comptes", **ACRE_AE).json
    assert set(account) == {
        "identifiant", "eligible", "motifNonEligibilite", "periodicite", "dateDebutActivite", "categories",
        "versementLiberatoire", "mandat",
    }  # fmt: skip
    assert (account["dateDebutActivite"], account["periodicite"]) == ("2026-07-06", "MENSUELLE")


@pytest.mark.parametrize("turnover", [{}, {"VENTE_MARCHANDISES": 0}])
def test_zero_turnover_is_estimated_and_declared(api, turnover):
    api.mandate(MONTHLY)
    assert api.estimate(MONTHLY, turnover=turnover).json["montantTotal"] == Decimal("0.00")
    declaration = api.declare(MONTHLY, turnover=turnover).json
    assert declaration["montantTotal"] == declaration["montantRestantDu"] == Decimal("0.00")
    assert declaration["statut"] == "DECLAREE"


@pytest.mark.parametrize("route", ["/estimations", "/declarations"])
def test_period_rules_in_order(api, clock, route):
    def send(identifier, period):
        payload = api.declaration_input(identifier, period=period, referenceTiers="r-" + period["dateDebut"])
        return api.post(route, payload)

    november = {"dateDebut": "2026-11-01", "dateFin": "2026-11-30"}
    shifted = {"dateDebut": "2026-11-02", "dateFin": "2026-12-01"}
    # no mandate comes first, whatever the period
    assert send(MONTHLY, november).code == "ER_API_MANDAT_ABSENT"
    assert send(MONTHLY, november).status == 403
    api.mandate(MONTHLY)
    result = send(MONTHLY, november)
    assert (result.status, result.code) == (422, "ER_API_PERIODE_NON_ECHUE")
    # an unended period is reported as such even when also misaligned
    assert send(MONTHLY, shifted).code == "ER_API_PERIODE_NON_ECHUE"
    result = send(MONTHLY, {"dateDebut": "2026-10-02", "dateFin": "2026-10-31"})
    assert (result.status, result.code) == (422, "ER_API_PERIODE_INVALIDE")
    assert "2026-10-01" in result.json[0]["description"]
    assert send(MONTHLY, {"dateDebut": "2026-07-01", "dateFin": "2026-09-30"}).code == "ER_API_PERIODE_INVALIDE"
    clock.now = datetime(2026, 12, 1, 0, 5, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    assert send(MONTHLY, november).status in (200, 201)


def test_periods_older_than_the_known_rates_are_refused(api):
    api.mandate(MONTHLY)
    result = api.estimate(MONTHLY, period={"dateDebut": "2021-06-01", "dateFin": "2021-06-30"})
    assert (result.status, result.code) == (422, "ER_API_PERIODE_INVALIDE")


def test_first_long_period(api):
    new_monthly = seed_identifier("new_business_monthly")
    api.mandate(new_monthly)
    first = {"dateDebut": "2026-07-20", "dateFin": "2026-10-31"}
    assert (
        api.declare(
            new_monthly,
            period={"dateDebut": "2026-10-01", "dateFin": "2026-10-31"},
            turnover={"PRESTATION_SERVICES_BIC": 10},
        ).code
        == "ER_API_PERIODE_INVALIDE"
    )
    declaration = api.declare(new_monthly, period=first, turnover={"PRESTATION_SERVICES_BIC": 4200}).json
    assert declaration["periode"] == first
    assert declaration["dateExigibilite"] == "2026-11-30"
    new_quarterly = seed_identifier("new_business_quarterly")
    api.mandate(new_quarterly)
    result = api.estimate(
        new_quarterly,
        period={"dateDebut": "2026-09-15", "dateFin": "2026-12-31"},
        turnover={"PRESTATION_SERVICES_BNC": 100},
    )
    assert result.code == "ER_API_PERIODE_NON_ECHUE"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": -1}]}, "ER_API_MONTANT_INVALIDE"),
        ({"chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": 10.005}]}, "ER_API_MONTANT_INVALIDE"),
        ({"chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": "10.00"}]}, "ER_API_MONTANT_INVALIDE"),
        ({"chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": True}]}, "ER_API_MONTANT_INVALIDE"),
        ({"chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES"}]}, "ER_API_MONTANT_INVALIDE"),
        ({"chiffresAffaires": [{"categorie": "LOCATION_MEUBLEE", "montant": 1}]}, "ER_API_CATEGORIE_INVALIDE"),
        (
            {
                "chiffresAffaires": [
                    {"categorie": "VENTE_MARCHANDISES", "montant": 1},
                    {"categorie": "VENTE_MARCHANDISES", "montant": 2},
                ]
            },
            "ER_API_CATEGORIE_INVALIDE",
        ),
        ({"chiffresAffaires": None}, "ER_API_REQUETE_INVALIDE"),
        ({"periode": None}, "ER_API_REQUETE_INVALIDE"),
        ({"periode": {"dateDebut": "2026-10-31", "dateFin": "2026-10-01"}}, "ER_API_DATE_INVALIDE"),
        ({"periode": {"dateDebut": "2026-10-01"}}, "ER_API_DATE_INVALIDE"),
        ({"identifiant": {"siret": "81234567600018"}}, "ER_API_IDENTIFIANT_INVALIDE"),
    ],
)
@pytest.mark.parametrize("route", ["/estimations", "/declarations"])
def test_declaration_input_errors(api, route, change, code):
    api.mandate(MONTHLY)
    payload = {**api.declaration_input(MONTHLY, referenceTiers="r"), **change}
    result = api.post(route, payload)
    assert (result.status, result.code) == (400, code)


def test_nan_is_not_an_amount(api):
    api.mandate(MONTHLY)
    body = (
        b'{"identifiant": {"nir": "%s"}, "periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"},'
        b' "chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": NaN}]}' % MONTHLY["nir"].encode()
    )
    result = api.call("POST", "/estimations", body=body, headers={"Content-Type": "application/json"})
    assert (result.status, result.code) == (400, "ER_API_MONTANT_INVALIDE")


def test_turnover_in_a_category_the_account_does_not_exercise(api):
    api.mandate(MONTHLY)
    result = api.estimate(MONTHLY, turnover={"PRESTATION_SERVICES_BNC": 500})
    assert (result.status, result.code) == (422, "ER_API_CATEGORIE_NON_AUTORISEE")
    # a zero line in such a category is harmless
    assert api.estimate(MONTHLY, turnover={"VENTE_MARCHANDISES": 5, "PRESTATION_SERVICES_BNC": 0}).status == 200


# --- declarations ---------------------------------------------------------------


def test_declaration_answer(api, declared):
    assert re.fullmatch(r"D2026\d{7}", declared["numeroDeclaration"])
    assert declared["referenceTiers"] == "ref-1"
    assert declared["periode"] == OCTOBER
    assert declared["dateDeclaration"] == "2026-11-27T10:00:00+01:00"
    assert declared["dateExigibilite"] == "2026-11-30"
    assert declared["chiffresAffaires"] == [{"categorie": "VENTE_MARCHANDISES", "montant": Decimal("2500.50")}]
    assert declared["cotisations"] == api_lines("trader_october_2500_50")
    assert declared["montantTotal"] == sum(line["montant"] for line in declared["cotisations"])
    assert declared["montantRestantDu"] == declared["montantTotal"]
    assert declared["statut"] == "DECLAREE"


def test_amounts_are_json_numbers_with_two_decimals(api):
    api.mandate(MONTHLY)
    raw = api.declare(MONTHLY, turnover={"VENTE_MARCHANDISES": 2500.5}).raw.decode()
    assert '"montant":2500.50' in raw
    for name in ("montantTotal", "montantRestantDu", "base"):
        assert re.search(rf'"{name}":\d+\.\d\d[,}}]', raw), name


def test_second_declaration_of_a_period_is_refused_with_its_number(api, declared):
    result = api.declare(MONTHLY, reference="ref-2")
    assert (result.status, result.code) == (409, "ER_API_DECLARATION_EXISTANTE")
    assert result.json[0]["description"] == declared["numeroDeclaration"]


def test_reference_tiers_reused_for_another_period(api, declared):
    september = {"dateDebut": "2026-09-01", "dateFin": "2026-09-30"}
    result = api.declare(MONTHLY, reference="ref-1", period=september)
    assert (result.status, result.code) == (409, "ER_API_REFERENCE_TIERS_EXISTANTE")
    assert result.json[0]["description"] == declared["numeroDeclaration"]
    # the refusal left nothing behind: September is still free
    assert api.declare(MONTHLY, reference="ref-sept", period=september).status == 201


@pytest.mark.parametrize("reference", [None, "", "x" * 65, 12])
def test_reference_tiers_is_required_and_bounded(api, reference):
    api.mandate(MONTHLY)
    payload = api.declaration_input(MONTHLY, referenceTiers=reference)
    result = api.post("/declarations", payload)
    assert (result.status, result.code) == (400, "ER_API_REQUETE_INVALIDE")
    assert api.declare(MONTHLY, reference="x" * 64).status == 201


def test_find_declarations_newest_first_with_filters(api):
    api.mandate(MONTHLY)
    for month, reference in ((8, "aug"), (10, "oct"), (9, "sep")):
        end = (date(2026, month + 1, 1) - timedelta(days=1)).isoformat()
        period = {"dateDebut": f"2026-{month:02d}-01", "dateFin": end}
        assert api.declare(MONTHLY, reference=reference, period=period).status == 201
    found = api.get("/declarations", **MONTHLY).json
    assert [declaration["referenceTiers"] for declaration in found] == ["sep", "oct", "aug"]
    assert [d["referenceTiers"] for d in api.get("/declarations", dateDebut="2026-10-01", **MONTHLY).json] == ["oct"]
    assert [d["periode"]["dateDebut"] for d in api.get("/declarations", referenceTiers="aug", **MONTHLY).json] == [
        "2026-08-01"
    ]
    assert api.get("/declarations", dateDebut="2026-07-01", **MONTHLY).json == []
    assert api.get("/declarations", dateDebut="oct", **MONTHLY).code == "ER_API_DATE_INVALIDE"


def test_find_declarations_needs_the_mandate(api, other):
    result = other.get("/declarations", **MONTHLY)
    assert (result.status, result.code) == (403, "ER_API_MANDAT_ABSENT")
    assert api.get("/declarations", siret="40123456200015").code == "ER_API_COMPTE_INCONNU"


# --- paiements --------------------------------------------------------------------


def pay(api, declaration, amount, iban=SEEDED_IBAN, **extra):
    return api.post(
        "/paiements", {"numeroDeclaration": declaration["numeroDeclaration"], "montant": amount, "iban": iban, **extra}
    )


def test_partial_then_full_payment(api, declared):
    total = declared["montantTotal"]
    first = pay(api, declared, 100)
    assert first.status == 201
    assert re.fullmatch(r"P2026\d{7}", first.json["referencePaiement"])
    assert first.json["numeroDeclaration"] == declared["numeroDeclaration"]
    assert first.json["montant"] == Decimal("100.00")
    assert first.json["datePrelevement"] == declared["dateExigibilite"]
    assert first.json["statut"] == "ENREGISTRE"
    [after_first] = api.get("/declarations", **MONTHLY).json
    assert after_first["statut"] == "PAYEE_PARTIELLEMENT"
    assert after_first["montantRestantDu"] == total - 100
    second = pay(api, declared, float(total - 100), iban="FR76 3000 6000 0112 3456 7890 189")
    assert second.status == 201
    [after_second] = api.get("/declarations", **MONTHLY).json
    assert (after_second["statut"], after_second["montantRestantDu"]) == ("PAYEE", Decimal("0.00"))
    again = pay(api, declared, 1)
    assert (again.status, again.code) == (409, "ER_API_PAIEMENT_EXISTANT")
    assert again.json[0]["description"] == second.json["referencePaiement"]


def test_payment_above_what_remains_due(api, declared):
    result = pay(api, declared, float(declared["montantTotal"] + CENT))
    assert (result.status, result.code) == (422, "ER_API_MONTANT_INVALIDE")
    [declaration] = api.get("/declarations", **MONTHLY).json
    assert declaration["statut"] == "DECLAREE"


def test_payment_needs_an_active_sepa_mandate_for_that_iban(api, declared):
    result = pay(api, declared, 10, iban=OTHER_IBAN)
    assert (result.status, result.code) == (422, "ER_API_MANDAT_SEPA_ABSENT")
    assert api.delete("/mandats-sepa/URSSAF-AE-SEED-0001").status == 204
    assert pay(api, declared, 10).code == "ER_API_MANDAT_SEPA_ABSENT"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"iban": "FR7630006000011234567890188"}, "ER_API_IBAN_INVALIDE"),
        ({"iban": None}, "ER_API_IBAN_INVALIDE"),
        ({"montant": 0}, "ER_API_MONTANT_INVALIDE"),
        ({"montant": 1.001}, "ER_API_MONTANT_INVALIDE"),
        ({"montant": None}, "ER_API_MONTANT_INVALIDE"),
        ({"numeroDeclaration": None}, "ER_API_REQUETE_INVALIDE"),
        ({"datePrelevement": "demain"}, "ER_API_DATE_INVALIDE"),
    ],
)
def test_payment_input_errors(api, declared, change, code):
    payload = {"numeroDeclaration": declared["numeroDeclaration"], "montant": 10, "iban": SEEDED_IBAN, **change}
    result = api.post("/paiements", payload)
    assert (result.status, result.code) == (400, code)
    assert SEEDED_IBAN[:-4] not in result.raw.decode()


def test_payment_of_an_unknown_or_foreign_declaration(api, other, declared):
    result = pay(api, {"numeroDeclaration": "D20269999999"}, 10)
    assert (result.status, result.code) == (404, "ER_API_DECLARATION_INCONNUE")
    result = pay(other, declared, 10)
    assert (result.status, result.code) == (403, "ER_API_MANDAT_ABSENT")


def test_payment_dates(api, declared):
    assert pay(api, declared, 1, datePrelevement="2026-11-26").code == "ER_API_DATE_PRELEVEMENT_INVALIDE"
    assert pay(api, declared, 1, datePrelevement="2026-12-03").json["datePrelevement"] == "2026-12-03"
    september = {"dateDebut": "2026-09-01", "dateFin": "2026-09-30"}
    late = api.declare(MONTHLY, reference="sept", period=september).json
    assert late["dateExigibilite"] == "2026-11-02"  # 31 October a Saturday, 1 November a Sunday
    assert pay(api, late, 1).json["datePrelevement"] == "2026-11-27"  # overdue: debit today


def test_due_date_and_debit_on_working_days(api, clock):
    # Before the deadline: due date and default debit on the next working
    # day after 31 October 2026 (Saturday) and 1 November (Sunday, All Saints).
    clock.now = datetime(2026, 10, 15, 10, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    api.mandate(MONTHLY, dateSignature="2026-10-15")
    september = {"dateDebut": "2026-09-01", "dateFin": "2026-09-30"}
    declared = api.declare(MONTHLY, reference="sept", period=september).json
    assert declared["dateExigibilite"] == "2026-11-02"
    assert api.get("/declarations", **MONTHLY).json[0]["dateExigibilite"] == "2026-11-02"
    assert pay(api, declared, 1).json["datePrelevement"] == "2026-11-02"
    # Overdue on a Saturday: the debit waits for Monday.
    clock.now = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    assert pay(api, declared, 1).json["datePrelevement"] == "2026-11-30"
    # Overdue on Christmas Day, a Friday: the debit waits for Monday 28.
    clock.now = datetime(2026, 12, 25, 10, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    assert pay(api, declared, 1).json["datePrelevement"] == "2026-12-28"
    # A date the caller chooses is kept.
    assert pay(api, declared, 1, datePrelevement="2026-12-26").json["datePrelevement"] == "2026-12-26"


def _sepa_mandate(api, iban):
    payload = {"identifiant": MONTHLY, "iban": iban, "titulaire": "Camille Martin", "dateSignature": "2026-11-02"}
    assert api.post("/mandats-sepa", payload).status == 201


def test_a_debit_from_the_rejected_iban_is_due_again_from_its_debit_date(api, declared, clock, sandbox):
    """The debit is taken on its date: from then on, Urssaf says the
    declaration is due again, and it can be paid again (once)."""
    _sepa_mandate(api, REJECTED_DEBIT_IBAN)
    total = declared["montantTotal"]
    payment = pay(api, declared, float(total), iban=REJECTED_DEBIT_IBAN)
    assert (payment.status, payment.json["datePrelevement"]) == (201, "2026-11-30")
    # Registered: counted against what is due until the debit date.
    [before] = api.get("/declarations", **MONTHLY).json
    assert (before["statut"], before["montantRestantDu"]) == ("PAYEE", Decimal("0.00"))
    clock.now = datetime(2026, 11, 29, 23, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    assert api.get("/declarations", **MONTHLY).json[0]["statut"] == "PAYEE", "not the debit date yet"
    # The debit date: the bank rejects the debit.
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    [after] = api.get("/declarations", **MONTHLY).json
    assert (after["statut"], after["montantRestantDu"]) == ("DECLAREE", total)
    with sandbox.storage.transaction() as transaction:
        assert transaction.get("payment", payment.json["referencePaiement"])["statut"] == "REJETE"
    # Read again: the rejection is not counted twice.
    assert api.get("/declarations", **MONTHLY).json[0]["montantRestantDu"] == total
    # Paid again from a good account: paid, and then refused a third time.
    again = pay(api, declared, float(total))
    assert again.status == 201, again.raw
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    [paid] = api.get("/declarations", **MONTHLY).json
    assert (paid["statut"], paid["montantRestantDu"]) == ("PAYEE", Decimal("0.00"))
    third = pay(api, declared, 1)
    assert (third.status, third.code) == (409, "ER_API_PAIEMENT_EXISTANT")
    assert third.json[0]["description"] == again.json["referencePaiement"]


def test_a_partial_debit_rejected_leaves_the_rest_paid(api, declared, clock):
    _sepa_mandate(api, REJECTED_DEBIT_IBAN)
    total = declared["montantTotal"]
    assert pay(api, declared, 100, iban=REJECTED_DEBIT_IBAN).status == 201
    assert pay(api, declared, float(total - 100)).status == 201
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    [after] = api.get("/declarations", **MONTHLY).json
    assert (after["statut"], after["montantRestantDu"]) == ("PAYEE_PARTIELLEMENT", Decimal("100.00"))
    # What is due again is paid again, not more.
    assert pay(api, declared, 100.01).code == "ER_API_MONTANT_INVALIDE"
    assert pay(api, declared, 100).status == 201


def test_a_debit_from_another_iban_is_taken(api, declared, clock):
    assert pay(api, declared, float(declared["montantTotal"])).status == 201
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS_WINTER)
    api.access_token = api.token()["access_token"]
    [after] = api.get("/declarations", **MONTHLY).json
    assert (after["statut"], after["montantRestantDu"]) == ("PAYEE", Decimal("0.00"))


def test_nothing_to_pay_on_a_zero_declaration(api):
    api.mandate(MONTHLY)
    zero = api.declare(MONTHLY, turnover={}).json
    assert pay(api, zero, 1).code == "ER_API_MONTANT_INVALIDE"


# --- mandats SEPA -----------------------------------------------------------------


def test_sepa_mandates_listed_with_masked_iban(api):
    api.mandate(MONTHLY)
    result = api.get("/mandats-sepa", **MONTHLY)
    assert result.json == [
        {
            "rum": "URSSAF-AE-SEED-0001",
            "iban": "*" * 23 + "0189",
            "bic": "AGRIFRPPXXX",
            "titulaire": "Camille Martin",
            "dateSignature": "2019-03-20",
            "statut": "ACTIF",
        }
    ]
    assert SEEDED_IBAN[4:-4] not in result.raw.decode()


def test_register_and_revoke_sepa_mandate(api):
    api.mandate(QUARTERLY)
    assert api.get("/mandats-sepa", **QUARTERLY).json == []
    payload = {
        "identifiant": QUARTERLY,
        "iban": OTHER_IBAN,
        "bic": "PSSTFRPPXXX",
        "titulaire": "Lucas Bernard",
        "dateSignature": "2026-11-20",
    }
    created = api.post("/mandats-sepa", payload)
    assert created.status == 201
    rum = created.json["rum"]
    assert created.json["iban"] == "*" * (len(OTHER_IBAN) - 4) + "2606"
    assert created.json["statut"] == "ACTIF"
    duplicate = api.post("/mandats-sepa", payload)
    assert (duplicate.status, duplicate.code) == (409, "ER_API_MANDAT_SEPA_EXISTANT")
    assert duplicate.json[0]["description"] == rum
    assert api.delete("/mandats-sepa/" + rum).status == 204
    assert [m["statut"] for m in api.get("/mandats-sepa", **QUARTERLY).json] == ["REVOQUE"]
    again = api.delete("/mandats-sepa/" + rum)
    assert (again.status, again.code) == (404, "ER_API_MANDAT_SEPA_INCONNU")
    renewed = api.post("/mandats-sepa", payload)
    assert renewed.status == 201 and renewed.json["rum"] != rum


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"iban": "FR1420041010050500013M02607"}, 400, "ER_API_IBAN_INVALIDE"),
        ({"titulaire": " "}, 400, "ER_API_REQUETE_INVALIDE"),
        ({"titulaire": None}, 400, "ER_API_REQUETE_INVALIDE"),
        ({"bic": "NOTABIC"}, 400, "ER_API_BIC_INVALIDE"),
        ({"dateSignature": None}, 400, "ER_API_DATE_INVALIDE"),
        ({"dateSignature": "2026-12-01"}, 422, "ER_API_DATE_SIGNATURE_INVALIDE"),
        ({"identifiant": seed_identifier("liberal_bnc_liberatoire")}, 403, "ER_API_MANDAT_ABSENT"),
    ],
)
def test_sepa_mandate_input_errors(api, change, status, code):
    api.mandate(QUARTERLY)
    payload = {
        "identifiant": QUARTERLY,
        "iban": OTHER_IBAN,
        "titulaire": "Lucas Bernard",
        "dateSignature": "2026-11-20",
        **change,
    }
    result = api.post("/mandats-sepa", payload)
    assert (result.status, result.code) == (status, code)


def test_sepa_mandates_belong_to_the_mandate_holder(api, other):
    result = other.get("/mandats-sepa", **MONTHLY)
    assert (result.status, result.code) == (403, "ER_API_MANDAT_ABSENT")
    assert other.delete("/mandats-sepa/URSSAF-AE-SEED-0001").code == "ER_API_MANDAT_SEPA_INCONNU"
    assert api.delete("/mandats-sepa/URSSAF-AE-SEED-0001").status == 404  # no mandate yet either
    api.mandate(MONTHLY)
    assert api.delete("/mandats-sepa/URSSAF-AE-SEED-0001").status == 204
    assert api.delete("/mandats-sepa/NO-SUCH-RUM").status == 404


# --- seed, add_account, unexpected errors ---------------------------------------------


def test_seed_identifiers_are_valid():
    for account in SEED_ACCOUNTS:
        assert bool(account.get("nir")) != bool(account.get("siret")), account["alias"]
        if account.get("nir"):
            assert stdnum_nir.is_valid(account["nir"]), account["alias"]
        else:
            assert stdnum_siret.is_valid(account["siret"]), account["alias"]
        for sepa in account["sepa_mandates"]:
            assert stdnum_iban.is_valid(sepa["iban"])
    assert all(stdnum_siret.is_valid(synthetic_siret(index)) for index in (0, 7, 9_999_999))
    assert all(stdnum_nir.is_valid(synthetic_nir(index)) for index in (0, 7, 999_999))


def test_seed_covers_the_cases_the_demo_needs():
    def having(**fields):
        return [a["alias"] for a in SEED_ACCOUNTS if all(a[name] == value for name, value in fields.items())]

    assert having(periodicite="MENSUELLE") and having(periodicite="TRIMESTRIELLE")
    assert having(eligible=False) and all(a["motifNonEligibilite"] for a in SEED_ACCOUNTS if not a["eligible"])
    assert having(mandate_holder="autre-tiers")
    assert having(versementLiberatoire=True)
    assert having(trade="artisan", chamber="moselle")
    [acre] = having(acre=True)
    assert seed_account(acre)["dateDebutActivite"].startswith("2026-")
    for category in (
        "VENTE_MARCHANDISES",
        "PRESTATION_SERVICES_BIC",
        "PRESTATION_SERVICES_BNC",
        "PRESTATION_SERVICES_BNC_CIPAV",
    ):
        assert [a for a in SEED_ACCOUNTS if category in a["categories"]], category
    assert len({a["alias"] for a in SEED_ACCOUNTS}) == len(SEED_ACCOUNTS)
    table = seed_table_rst()
    assert all(a["alias"] in table and a["role"] in table for a in SEED_ACCOUNTS)


def test_seed_account_returns_a_private_copy():
    seed_account("monthly_trader")["categories"].append("changed")
    assert seed_account("monthly_trader")["categories"] == ["VENTE_MARCHANDISES"]
    with pytest.raises(KeyError):
        seed_account("nobody")


def test_add_account_registers_a_usable_account(sandbox, clock):
    sandbox.add_account(
        siret="40123456200015",
        periodicite="MENSUELLE",
        dateDebutActivite=date(2020, 1, 1),
        categories=["PRESTATION_SERVICES_BNC"],
        trade="liberal",
    )
    api = Api(HandleTransport(sandbox), "demo-tiers")
    identifier = {"siret": "40123456200015"}
    assert api.get("/comptes", **identifier).json["dateDebutActivite"] == "2020-01-01"
    assert api.mandate(identifier).status == 201
    assert api.declare(identifier, turnover={"PRESTATION_SERVICES_BNC": 10}).status == 201


def test_add_account_with_a_mandate_already_held(sandbox):
    identifier = {"nir": synthetic_nir(42)}
    sandbox.add_account(
        **identifier,
        periodicite="TRIMESTRIELLE",
        dateDebutActivite="2021-04-01",
        categories=["VENTE_MARCHANDISES"],
        trade="artisan",
        chamber="alsace",
        mandate_holder="demo-tiers",
    )
    api = Api(HandleTransport(sandbox), "demo-tiers")
    assert api.get("/comptes", **identifier).json["mandat"]["statut"] == "ACTIF"
    quarter = {"dateDebut": "2026-07-01", "dateFin": "2026-09-30"}
    assert api.declare(identifier, period=quarter).json["dateExigibilite"] == "2026-11-02"


@pytest.mark.parametrize(
    "change",
    [
        {"nir": "288047511102372"},
        {"periodicite": "ANNUELLE"},
        {"categories": ["LOCATION"]},
        {"trade": "banquier"},
        {"chamber": "bretagne"},
        {"trade": None},
    ],
)
def test_add_account_refuses_invalid_fields(sandbox, change):
    fields = {
        "nir": "190017511100194",
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2020-01-01",
        "categories": ["VENTE_MARCHANDISES"],
        "trade": "commercant",
        **change,
    }
    with pytest.raises(ValueError):
        sandbox.add_account(**fields)


def test_a_wiped_storage_is_seeded_again(clock):
    class ResettableStorage(MemoryStorage):
        def reset(self):
            MemoryStorage.__init__(self)

    storage = ResettableStorage()
    api = Api(HandleTransport(Sandbox(storage, clock=clock)), "demo-tiers")
    storage.reset()  # as an Odoo test rolling back its transaction
    assert api.get("/comptes", **MONTHLY).code == "ER_API_JETON_INVALIDE"
    api.access_token = api.token()["access_token"]
    assert api.mandate(MONTHLY).status == 201


def test_a_storage_seeded_by_an_older_version_gets_the_new_accounts(clock):
    storage = MemoryStorage()
    api = Api(HandleTransport(Sandbox(storage, clock=clock)), "demo-tiers")
    assert api.mandate(MONTHLY).status == 201
    with storage.transaction() as transaction:  # as version 1 left it: no ACRE account
        transaction.delete("account", "nir:" + ACRE_AE["nir"])
        transaction.put("meta", "seed", {"version": 1})
    assert api.get("/comptes", **ACRE_AE).json["dateDebutActivite"] == "2026-07-06"
    assert api.get("/comptes", **MONTHLY).json["mandat"]["statut"] == "ACTIF"  # kept as it was
    api.mandate(ACRE_AE)
    estimate = api.estimate(ACRE_AE, period=ACRE_FIRST_PERIOD, turnover={"PRESTATION_SERVICES_BNC": 1000}).json
    assert social_lines(estimate["cotisations"]) == [("PRESTATION_SERVICES_BNC", Decimal("19.2"), Decimal("192.00"))]


def test_internal_error_is_a_technical_error_and_rolls_back(api, sandbox, monkeypatch):
    api.mandate(MONTHLY)

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(sandbox, "_contributions", broken)
    result = api.declare(MONTHLY)
    assert (result.status, result.code) == (500, "ERREUR_TECHNIQUE")
    monkeypatch.undo()
    assert api.get("/declarations", **MONTHLY).json == []


# --- adapter specifics ------------------------------------------------------------


def test_adapter_builds_real_requests_responses(sandbox):
    session = requests.Session()
    session.mount(EMBEDDED_BASE_URL, SandboxAdapter(sandbox))
    token = session.post(
        EMBEDDED_BASE_URL + TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": "demo-tiers", "client_secret": "demo-secret"},
    )
    assert token.ok and token.reason == "OK"
    session.headers["Authorization"] = "Bearer " + token.json()["access_token"]
    response = session.get(EMBEDDED_BASE_URL + DEFAULT_BASE_PATH + "/comptes", params={"siret": QUARTERLY["siret"]})
    assert response.status_code == 200
    assert response.headers["CONTENT-TYPE"] == "application/json"
    assert response.url.endswith("/comptes?siret=" + QUARTERLY["siret"])
    assert response.request.method == "GET"
    assert response.json()["periodicite"] == "TRIMESTRIELLE"
    assert b"".join(response.iter_content(7)) == response.content
    missing = session.post(EMBEDDED_BASE_URL + DEFAULT_BASE_PATH + "/estimations", json={})
    assert missing.reason == "Bad Request"
    with pytest.raises(requests.HTTPError):
        missing.raise_for_status()


def test_adapter_strips_a_gateway_prefix(sandbox):
    base = EMBEDDED_BASE_URL + "/gateway/v9"
    session = requests.Session()
    session.mount(EMBEDDED_BASE_URL, SandboxAdapter(sandbox))
    token = session.post(
        base + TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": "demo-tiers", "client_secret": "demo-secret"},
    ).json()
    response = session.get(
        base + DEFAULT_BASE_PATH + "/comptes",
        params=MONTHLY,
        headers={"Authorization": "Bearer " + token["access_token"]},
    )
    assert response.status_code == 200


def test_adapter_works_with_requests_oauthlib(sandbox):
    session = OAuth2Session(client=BackendApplicationClient(client_id="demo-tiers"), scope=["tiersdecl.ae"])
    session.mount(EMBEDDED_BASE_URL, SandboxAdapter(sandbox))
    token = session.fetch_token(
        EMBEDDED_BASE_URL + TOKEN_PATH, client_id="demo-tiers", client_secret="demo-secret", include_client_id=True
    )
    assert token["token_type"] == "Bearer"
    response = session.get(EMBEDDED_BASE_URL + DEFAULT_BASE_PATH + "/comptes", params=MONTHLY)
    assert response.json()["identifiant"] == MONTHLY
