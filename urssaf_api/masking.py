"""Masking of the regulated or secret values the client handles.

The NIR, IBANs, the OAuth2 client secret and bearer tokens must never reach a
log line or an error text in clear. The ``mask_*`` helpers give a short,
recognisable form of a value the caller knows; :func:`redact` scrubs any
such value found in a free text (Urssaf's messages, URLs, log records).
"""

import logging
import re

MASK = "*"

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


def mask_secret(secret):
    """Return a fixed mask: nothing of a secret is worth showing."""
    return MASK * 8 if secret else ""


def mask_token(token):
    """Return ``"****wxyz"`` for a long token (its last 4 characters help
    match two log lines), a fixed mask for a short one."""
    token = str(token or "")
    if not token:
        return ""
    if len(token) < 24:
        return MASK * 4
    return MASK * 4 + token[-4:]


def _mask_nir_match(match):
    return f"{match.group(1)} {match.group(2)} ** ** *** *** {match.group(3)}"


def redact(text):
    """Mask every NIR, IBAN, bearer token or credential pair found in *text*."""
    if text is None:
        return None
    text = str(text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK * 4}", text)
    text = _SECRET_PAIR_RE.sub(lambda m: m.group(1) + MASK * 4, text)
    text = _NIR_RE.sub(_mask_nir_match, text)
    text = _IBAN_RE.sub(lambda m: mask_iban(m.group(0)), text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that applies :func:`redact` to the formatted message.

    Installed on the loggers of the libraries the client drives, which log
    request URLs (with ``?nir=``), form bodies (with ``client_secret``) and
    token answers at DEBUG level.
    """

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_REDACTING_FILTER = RedactingFilter()
THIRD_PARTY_LOGGERS = (
    "requests_oauthlib.oauth2_session",
    "oauthlib",
    "urllib3.connectionpool",
)


def install_log_redaction(logger_names=THIRD_PARTY_LOGGERS):
    """Attach the redacting filter to *logger_names* (idempotent)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)
