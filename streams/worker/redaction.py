"""Keep secret values out of every log line, whichever library writes it.

Settings hold secrets as `SecretStr`, so our own logs never see them. Libraries get the
plain text: aiokafka logs every request at debug level, and a SASL/PLAIN authenticate
request carries the password (`sasl_auth_bytes=b'\\x00user\\x00password'`). A log record
factory sees every record of every logger before any handler, so it redacts there: the
message is formatted once, and every spelling of a secret (plain, str-escaped,
bytes-escaped) becomes `**********`; exception text likewise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "**********"


def _spellings(secret: str) -> set[str]:
    # As written, inside a str repr, and inside a bytes repr (how request structs print).
    return {secret, repr(secret)[1:-1], repr(secret.encode())[2:-1]} - {""}


class _Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.forms = sorted({f for s in secrets if s for f in _spellings(s)}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text

    def contains(self, text: str) -> bool:
        return any(form in text for form in self.forms)


def install_log_redaction(secrets: Iterable[str]) -> None:
    """Redact `secrets` from every log record created from now on, in this process."""
    redactor = _Redactor(secrets)
    if not redactor.forms:
        return
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the handler's problem
            return record
        if redactor.contains(message):
            record.msg, record.args = redactor(message), ()  # not None: mode's formatter would wrap it into (None,)
        if record.exc_info and not record.exc_text:
            text = formatter.formatException(record.exc_info)
            if redactor.contains(text):
                record.exc_text = redactor(text)  # formatters use exc_text when it is set
        return record

    logging.setLogRecordFactory(factory)
