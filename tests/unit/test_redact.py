import logging

from plexsync.errors import Transient
from plexsync.redact import MASK, redact, register_secret
from plexsync.worker.logs import ExpectedFailureFilter, RedactingFilter


def test_registered_secrets_and_credential_shapes_are_masked():
    register_secret("s3cr3t-plex-token")
    text = redact(
        "GET http://plex/library?X-Plex-Token=abcdef123 failed; token s3cr3t-plex-token; "
        "headers {'ApiKey': 'eyJhbGciOi'} cookie session=MTcwMDAw"
    )
    for secret in ("s3cr3t-plex-token", "abcdef123", "eyJhbGciOi", "MTcwMDAw"):
        assert secret not in text
    assert text.count(MASK) >= 4


def test_filter_redacts_messages_args_and_tracebacks():
    register_secret("tb-secret-value")
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed with %s", ("tb-secret-value",), None)
    try:
        raise RuntimeError("boom tb-secret-value")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert "tb-secret-value" not in record.getMessage()
    assert "tb-secret-value" not in record.exc_text
    assert "boom" in record.exc_text


def test_classified_failures_log_one_line_and_bugs_keep_their_traceback():
    import sys

    def record_for(exc: Exception) -> logging.LogRecord:
        try:
            raise exc
        except Exception:
            return logging.LogRecord(
                "huey", logging.ERROR, __file__, 1, "Unhandled exception in task %s.", ("t1",), sys.exc_info()
            )

    expected = record_for(Transient("Plex answered HTTP 503"))
    ExpectedFailureFilter().filter(expected)
    assert expected.exc_info is None
    assert expected.getMessage() == "task t1 failed: Transient: Plex answered HTTP 503"  # and a debug line
    bug = record_for(KeyError("boom"))
    ExpectedFailureFilter().filter(bug)
    assert bug.exc_info is not None
