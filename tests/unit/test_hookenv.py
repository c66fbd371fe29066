"""The hook's environment readings (plexsync.hookenv) agree with the settings module's."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexsync import hookenv
from plexsync.config import Bootstrap, ConfigError, setting_value


@pytest.mark.parametrize(
    ("environ", "published"),
    [
        ({}, None),
        ({}, {"worker_mode": "external"}),
        ({"PLEXSYNC_WORKER_MODE": "External "}, {"worker_mode": "auto"}),
        ({"PLEXSYNC_WORKER_MODE": ""}, {"worker_mode": "external"}),
        ({}, {"worker_mode": ""}),
    ],
)
def test_the_worker_mode_is_read_as_the_settings_module_reads_it(environ, published):
    assert hookenv.worker_mode(published, environ) == setting_value("worker_mode", published, environ)


@pytest.mark.parametrize(
    ("environ", "published"), [({"PLEXSYNC_WORKER_MODE": "sometimes"}, None), ({}, {"worker_mode": "x"})]
)
def test_a_bad_worker_mode_is_the_same_one_line_error(environ, published):
    with pytest.raises(ConfigError) as ours:
        hookenv.worker_mode(published, environ)
    with pytest.raises(ConfigError) as theirs:
        setting_value("worker_mode", published, environ)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"PLEXSYNC_DATA_DIR": "~/plexsync-data"},
        {"PLEXSYNC_DATA_DIR": "/srv/x", "PLEXSYNC_REDIS_URL": "redis://h:1/0"},
    ],
)
def test_the_queue_location_is_the_bootstraps(environ):
    bootstrap = Bootstrap.from_env(environ)
    assert Path(hookenv.data_dir(environ)) == bootstrap.data_dir
    assert hookenv.redis_url(environ) == bootstrap.redis_url


def test_a_redis_url_that_is_not_one_is_refused_with_its_password_masked():
    with pytest.raises(ConfigError, match=r"PLEXSYNC_REDIS_URL: 'http://u:\*\*\*@h' is not a redis:// URL"):
        hookenv.redis_url({"PLEXSYNC_REDIS_URL": "http://u:secret@h"})
