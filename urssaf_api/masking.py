"""Masking of the regulated or secret values the client handles.

The NIR, IBANs, the OAuth2 client secret and bearer tokens must never reach a
log line or an error text in clear. The ``mask_*`` helpers give a short,
recognisable form of a value the caller knows; :func:`redact` scrubs any
such value found in a free text (Urssaf's messages, URLs, log records).

Secrets and tokens are masked by their known values: the client registers
its client secret and every access token it is granted in
:data:`SENSITIVE_VALUES` (see :func:`register_sensitive`), and :func:`redact`
masks them wherever they appear, whatever characters they hold. Patterns
(``client_secret=...``, ``Bearer ...``) remain as a second net for values
nobody registered; NIRs and IBANs are found by pattern only.

:func:`install_log_redaction` applies :func:`redact` to every log record of
the libraries the client drives (urllib3, requests, requests-oauthlib,
oauthlib, any of their sub-loggers) and of this package, at the moment the
record is created, so that no handler ever sees them in clear.
"""

import json
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import quote, quote_plus

MASK = "*"
# What a registered secret or token becomes: fixed, so that its length is not told.
SENSITIVE_MASK = MASK * 8

# A NIR: sex digit, year, month, department (Corsica 2A/2B), commune, order
# number and key, compact or printed with single spaces (1 85 05 78 006 084 36).
# Any 13-character form without key is left alone: it would hit too many
# ordinary numbers, and the API only ever carries the 15-character form.
_NIR_RE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"([1-478])[ ]?(\d{2})[ ]?(?:\d{2})[ ]?(?:\d{2}|2[ABab])[ ]?\d{3}[ ]?\d{3}[ ]?(\d{2})"
    r"(?![0-9A-Za-z])"
)

# An IBAN, compact or printed in groups of four: country, check digits, then
# 11 to 30 alphanumerics. Dashes are not separators, so UUIDs never match.
_IBAN_RE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}"
    r"(?![0-9A-Za-z])"
)

_BEARER_RE = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9\-._~+/]+=*")

# key=value or "key": "value" pairs whose value is a credential
# (form bodies, JSON token answers, repr of token dicts).
_SECRET_PAIR_RE = re.compile(
    r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|password)[\"']?"
    r"\s*[:=]\s*[\"']?)([^\"'&\s,;}]+)"
)


def _compact(value):
    return re.sub(r"[\s.\-]", "", str(value or ""))


def mask_nir(nir):
    """Return ``"1 85 ** ** *** *** 42"``: sex, birth year and key only.

    Anything that is not a 15-character NIR is masked whole.
    """
    compact = _compact(nir).upper()
    if len(compact) != 15:
        return MASK * 3
    return f"{compact[0]} {compact[1:3]} ** ** *** *** {compact[13:]}"


def mask_iban(iban):
    """Return ``"****0189"``: the last 4 characters of the IBAN only."""
    compact = _compact(iban).upper()
    if len(compact) < 8:
        return MASK * 4
    return MASK * 4 + compact[-4:]


def _mask_nir_match(match):
    return f"{match.group(1)} {match.group(2)} ** ** *** *** {match.group(3)}"


def _forms(value):
    """The shapes *value* takes in the texts that carry it: as is, URL-encoded
    (form bodies, query strings; ``+`` or ``%20`` for a space), JSON-escaped
    (token answers; ASCII-only or not) and inside a Python repr (the dicts
    requests-oauthlib logs)."""
    return {
        value,
        quote_plus(value, safe=""),
        quote(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
    } - {""}


class SensitiveValues:
    """The secret values known to the process, masked wherever they appear.

    ``register(value)`` keeps a value for the life of the process (client
    secrets: a handful); ``register(value, transient=True)`` keeps it among
    the *max_transient* most recently registered transient values (access
    tokens: one per set of credentials and hour, so the oldest, long expired,
    are let go rather than piling up). Registering again refreshes a value.
    Thread-safe.
    """

    def __init__(self, max_transient=512):
        self.max_transient = max_transient
        self._lock = threading.Lock()
        self._permanent = set()
        self._transient = OrderedDict()
        self._pattern = None

    def register(self, value, *, transient=False):
        if not isinstance(value, str) or not value:
            return
        with self._lock:
            if transient:
                self._transient[value] = None
                self._transient.move_to_end(value)
                while len(self._transient) > self.max_transient:
                    self._transient.popitem(last=False)
            elif value in self._permanent:
                return
            else:
                self._permanent.add(value)
            forms = set()
            for known in self._permanent | self._transient.keys():
                forms |= _forms(known)
            # Longest first: a value containing another is masked whole.
            alternatives = sorted(forms, key=lambda form: (-len(form), form))
            self._pattern = re.compile("|".join(map(re.escape, alternatives)))

    def redact(self, text):
        pattern = self._pattern
        return pattern.sub(SENSITIVE_MASK, text) if pattern is not None else text


SENSITIVE_VALUES = SensitiveValues()


def register_sensitive(value, *, transient=False):
    """Have :func:`redact` mask *value* (a client secret, a token) from now on."""
    SENSITIVE_VALUES.register(value, transient=transient)


def redact(text):
    """Mask every registered secret or token, NIR, IBAN, bearer token or
    credential pair found in *text*."""
    if text is None:
        return None
    text = str(text)
    # Known values first: a pattern stopping at a "&" or a quote inside a
    # secret would leave the rest of it for the known value not to match.
    text = SENSITIVE_VALUES.redact(text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK * 4}", text)
    text = _SECRET_PAIR_RE.sub(lambda m: m.group(1) + MASK * 4, text)
    text = _NIR_RE.sub(_mask_nir_match, text)
    text = _IBAN_RE.sub(lambda m: mask_iban(m.group(0)), text)
    return text


def _redact_record(record):
    """Rewrite *record* in place so that its message and traceback are redacted."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's business, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None
    if record.exc_info and not record.exc_text:
        # Formatted here, as a handler's formatter would (and caches in
        # exc_text), only to be kept when it quoted something to mask.
        formatted = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(formatted)
        if cleaned != formatted:
            record.exc_text = cleaned


# Loggers whose records are redacted (with their sub-loggers): the libraries
# the client drives log request URLs (with ``?nir=``), form bodies (with
# ``client_secret``) and token answers at DEBUG level.
REDACTED_LOGGERS = ("urllib3", "requests", "requests_oauthlib", "oauthlib", __name__.rpartition(".")[0])

# Replaced whole, never changed in place: the factory reads it without the lock.
_redacted_prefixes = ()
_install_lock = threading.Lock()
_factory_installed = False


def _in_scope(name):
    prefixes = _redacted_prefixes
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def install_log_redaction(logger_names=REDACTED_LOGGERS):
    """Redact every record of *logger_names* and their sub-loggers from now on.

    A filter on a logger only sees the records logged on that very logger,
    not those of its children (``oauthlib.oauth2.rfc6749...``), and a logger
    created later would be missed: the process's log record factory is
    wrapped instead (once; further calls add names), so a record is redacted
    as it is created, before any filter or handler sees it.
    """
    global _factory_installed, _redacted_prefixes
    with _install_lock:
        _redacted_prefixes = tuple(sorted(set(_redacted_prefixes) | {name for name in logger_names if name}))
        if _factory_installed:
            return
        _factory_installed = True
        previous = logging.getLogRecordFactory()

        def redacting_factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            if _in_scope(record.name):
                _redact_record(record)
            return record

        logging.setLogRecordFactory(redacting_factory)
