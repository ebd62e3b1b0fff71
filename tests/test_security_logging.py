"""Log redaction reaches loggers made after it was installed (issue 13, item 8)."""

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
