"""PLEXSYNC_DATABASE_URL: checked at start, its password a secret everywhere."""

import peewee
import pytest

from plexsync.config import Bootstrap, ConfigError
from plexsync.redact import MASK, redact, register_secret
from plexsync.state import db

URL = "postgresql://plexsync:pa%2Fss-w0rd-91@db.lan:5432/plexsync"


def test_a_postgresql_url_is_kept_and_its_password_is_a_secret_not_in_the_repr():
    boot = Bootstrap.from_env({"PLEXSYNC_DATABASE_URL": URL})
    assert boot.database_url == URL
    assert {"pa/ss-w0rd-91", "pa%2Fss-w0rd-91"} <= set(boot.secrets())  # as written and as sent
    assert "w0rd" not in repr(boot)
    assert Bootstrap.from_env({}).database_url is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://root:hunter22@db/plexsync", "is not a PostgreSQL URL"),
        ("sqlite:///tmp/state.db", "is not a PostgreSQL URL"),
        ("db.lan:5432/plexsync", "is not a PostgreSQL URL"),
        ("postgresql://u:hunter22@db.lan:99999/plexsync", "has an invalid port"),
        ("postgresql://u:hunter22@db.lan:5432/", "names no database"),
    ],
)
def test_a_wrong_url_is_one_line_naming_the_setting_without_the_password(url, problem):
    with pytest.raises(ConfigError) as info:
        Bootstrap.from_env({"PLEXSYNC_DATABASE_URL": url})
    message = str(info.value)
    assert message.startswith("PLEXSYNC_DATABASE_URL: ") and problem in message
    assert "hunter22" not in message and "\n" not in message


def test_passwords_in_server_urls_are_masked_even_when_never_registered():
    text = redact("could not reach postgresql://u:never-registered@db/x or redis://:r3dis-pw@cache:6379/0")
    assert "never-registered" not in text and "r3dis-pw" not in text
    assert text.count(MASK) == 2
    assert redact("http://host:8080/path") == "http://host:8080/path"  # a port is no password


def test_redis_without_a_database_url_is_warned_about_and_described_without_secrets(tmp_path):
    env = {"PLEXSYNC_DATA_DIR": str(tmp_path), "PLEXSYNC_REDIS_URL": "redis://cache:6379/0"}
    warning = db.sharing_warning(Bootstrap.from_env(env))
    assert warning and "PLEXSYNC_DATABASE_URL" in warning and str(tmp_path / "plexsync.db") in warning
    assert db.sharing_warning(Bootstrap.from_env({**env, "PLEXSYNC_DATABASE_URL": URL})) is None
    assert db.sharing_warning(Bootstrap.from_env({"PLEXSYNC_DATA_DIR": str(tmp_path)})) is None
    register_secret("pa/ss-w0rd-91")
    assert "w0rd" not in db.describe(Bootstrap.from_env({"PLEXSYNC_DATABASE_URL": URL}))


def test_an_error_re_raised_from_a_database_failure_is_still_recognised():
    try:
        try:
            raise peewee.OperationalError("server closed the connection unexpectedly")
        except peewee.OperationalError:
            raise RuntimeError("unexpected OperationalError") from None
    except RuntimeError as exc:
        assert db.caused_by_database(exc)
    assert not db.caused_by_database(ValueError("bad input"))
    assert not db.caused_by_database(None)
