"""Log redaction reaches loggers and handlers made after it was installed, and extra fields."""

from __future__ import annotations

import io
import logging
import uuid
from urllib.parse import quote

from hyreka_plugin_amazon.refhost.safety import logredaction

TOKEN = "Atzr|IwEBIQlateLoggerT0kenZZ9"
EMAIL = "spaet.logger@marketplace.amazon.de"


def test_a_logger_made_after_install_logs_no_token_or_email() -> None:
    redactor = logredaction.RedactingFilter()
    factory = logging.getLogRecordFactory()
    installation = logredaction.install(redactor)
    try:
        redactor.register(TOKEN)
        # made after install, like apscheduler.executors.default under `run`
        late = logging.getLogger(f"apscheduler.executors.late{uuid.uuid4().hex}")
        late.propagate = False
        out = io.StringIO()
        handler = logging.StreamHandler(out)  # a handler added later, too
        late.addHandler(handler)
        late.setLevel(logging.INFO)
        try:
            raise RuntimeError(f"job failed for {EMAIL} with {TOKEN}")
        except RuntimeError:
            late.exception("Job raised: body=grant_type=x&token=%s", quote(TOKEN, safe=""))
        text = out.getvalue()
    finally:
        logredaction.uninstall(installation)
        late.removeHandler(handler)
    assert "Job raised" in text
    assert "RuntimeError" in text  # the traceback is kept, redacted
    for leaked in (TOKEN, quote(TOKEN, safe=""), "IwEBIQlateLoggerT0kenZZ9", EMAIL):
        assert leaked not in text, leaked
    assert logging.getLogRecordFactory() is factory  # uninstall restores it


def test_extra_fields_are_redacted_on_a_late_logger_and_handler() -> None:
    """``extra=`` fields are set after the record factory ran (issue 25, item 12)."""
    redactor = logredaction.RedactingFilter()
    installation = logredaction.install(redactor)
    late = logging.getLogger(f"hyreka_plugin_amazon.late{uuid.uuid4().hex}")
    late.propagate = False
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s | %(detail)s | %(count)s"))
    late.addHandler(handler)
    late.setLevel(logging.INFO)
    try:
        redactor.register(TOKEN)
        late.info("sent", extra={"detail": {"buyer": EMAIL, "token": TOKEN}, "count": 3})
    finally:
        logredaction.uninstall(installation)
        late.removeHandler(handler)
    text = out.getvalue()
    assert text.startswith("sent | ")
    assert text.rstrip().endswith("| 3")  # a plain number stays as it is
    for leaked in (TOKEN, EMAIL):
        assert leaked not in text, leaked


def test_the_filter_redacts_extra_fields_on_an_existing_handler() -> None:
    redactor = logredaction.RedactingFilter([TOKEN])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent", None, None)
    record.__dict__["detail"] = f"refresh {TOKEN}"  # as makeRecord sets an extra field
    assert redactor.filter(record)
    assert TOKEN not in str(record.__dict__["detail"])
    assert record.getMessage() == "sent"
