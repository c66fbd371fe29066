from pathlib import Path

import pytest
import yaml

from plexsync.config import PLUGIN_DIR, PLUGIN_ID, SYNC_SETTINGS, Bootstrap, ConfigError, SyncSettings

REQUIRED = {"PLEXSYNC_PLEX_URL": "http://plex:32400", "PLEXSYNC_PLEX_TOKEN": "tok-123456"}


def test_environment_wins_over_stash_settings_and_defaults_fill_the_rest():
    settings = SyncSettings.resolve(
        {"plex_url": "http://from-stash:1", "plex_token": "stash-token", "retries": 3},
        {"PLEXSYNC_PLEX_URL": "http://from-env:2"},
    )
    assert settings.plex_url == "http://from-env:2"
    assert settings.plex_token == "stash-token"
    assert settings.retries == 3
    assert settings.retry_backoff == 2.0


def test_missing_setting_is_reported_by_name():
    with pytest.raises(ConfigError, match=r"^PLEXSYNC_PLEX_TOKEN: not set"):
        SyncSettings.resolve({}, {"PLEXSYNC_PLEX_URL": "http://plex:32400"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PLEXSYNC_PLEX_URL", "ftp://plex:32400", "is not an address like http://192.168.1.10:32400"),
        ("PLEXSYNC_PLEX_URL", "http://plex:99999", "invalid port"),
        ("PLEXSYNC_RETRIES", "many", "not a int"),
        ("PLEXSYNC_RETRY_BACKOFF", "0.5", "below the minimum"),
        ("PLEXSYNC_PATH_MAP", "/only-one-side", "stash_prefix=plex_prefix"),
    ],
)
def test_invalid_values_name_the_setting_and_the_problem(name, value, message):
    with pytest.raises(ConfigError) as info:
        SyncSettings.resolve({}, {**REQUIRED, name: value})
    assert str(info.value).startswith(name + ":")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_token_is_not_in_the_settings_repr():
    assert "tok-123456" not in repr(SyncSettings.resolve({}, REQUIRED))


def test_bootstrap_defaults_and_stash_connection():
    boot = Bootstrap.from_env({"PLEXSYNC_STASH_URL": "https://stash.lan:9999/", "PLEXSYNC_STASH_API_KEY": "k"})
    assert boot.data_dir == PLUGIN_DIR / "data"
    assert boot.redis_url is None
    assert boot.stash_connection == {"Scheme": "https", "Host": "stash.lan", "Port": 9999, "ApiKey": "k"}
    with pytest.raises(ConfigError, match="PLEXSYNC_REDIS_URL"):
        Bootstrap.from_env({"PLEXSYNC_REDIS_URL": "localhost:6379"})


def test_manifest_declares_exactly_the_sync_settings():
    manifest_path = Path(PLUGIN_DIR) / f"{PLUGIN_ID}.yml"
    manifest = yaml.safe_load(manifest_path.read_text())
    declared = manifest["settings"]
    assert list(declared) == [s.key for s in SYNC_SETTINGS]
    for setting in SYNC_SETTINGS:
        assert declared[setting.key]["type"] == setting.stash_type, setting.key
        assert declared[setting.key]["displayName"] == setting.display_name, setting.key
        assert declared[setting.key]["description"] == setting.description, setting.key


def test_stash_loads_the_manifest_settings_as_config_py_declares_them():
    """Through the plugin host's strict loader (Stash's own YAML rules): a type Stash
    does not know, an unknown key or a duplicate would fail the whole plugin there."""
    from emulators.plugin_host.manifest import SETTING_TYPES, load_manifest

    manifest = load_manifest(PLUGIN_DIR)
    assert manifest.id == PLUGIN_ID
    assert list(manifest.settings) == [s.key for s in SYNC_SETTINGS]
    for setting in SYNC_SETTINGS:
        loaded = manifest.settings[setting.key]
        assert setting.stash_type in SETTING_TYPES, setting.key
        assert (loaded.display_name, loaded.description, loaded.type) == (
            setting.display_name,
            setting.description,
            setting.stash_type,
        ), setting.key
        assert setting.display_name.strip() and setting.description.strip(), setting.key


def _settings(**stored):
    from plexsync.config import SyncSettings

    return SyncSettings.resolve({"plex_url": "http://plex:32400", "plex_token": "tok3n", **stored}, environ={})


def test_field_policy_settings_have_real_defaults():
    settings = _settings()
    assert settings.skip_fields == frozenset() and settings.lock_fields is True
    assert settings.keep_plex_edits is False and settings.max_genres == 200
    assert (settings.content_rating, settings.sort_title, settings.performer_photos) == ("", "", "")


def test_booleans_read_as_stash_stores_them():
    assert _settings(lock_fields=False).lock_fields is False
    assert _settings(keep_plex_edits=True).keep_plex_edits is True
    assert _settings(lock_fields="off").lock_fields is False
    with pytest.raises(
        ConfigError, match=r"^'Lock written fields' on Stash's plugin page: 'maybe' is not on or off \(true/false\)$"
    ):
        _settings(lock_fields="maybe")


def test_skip_fields_names_known_fields_only():
    assert _settings(skip_fields=" Rating ,poster").skip_fields == {"rating", "poster"}
    with pytest.raises(
        ConfigError, match=r"^'Fields not written' on Stash's plugin page: 'tittle' is not one of title, "
    ):
        _settings(skip_fields="tittle")


def test_sort_title_template_placeholders_are_checked():
    assert _settings(sort_title="{studio} {date}").sort_title == "{studio} {date}"
    with pytest.raises(ConfigError, match=r"^'Sort title' on Stash's plugin page: \{year\} is not one of"):
        _settings(sort_title="{year} {title}")
    with pytest.raises(ConfigError, match="is not a template"):
        _settings(sort_title="{title")


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@photos:8080", "http://photos:8080/?apikey=abc", "http://photos#x", "ftp://photos"],
)
def test_the_performer_photo_address_carries_no_credential(url):
    with pytest.raises(ConfigError, match=r"^'Performer photo address' on Stash's plugin page: "):
        _settings(performer_photos=url)
    assert _settings(performer_photos="https://photos.lan/stash/").performer_photos == "https://photos.lan/stash"


# -- issue #16: a Plex address as users paste it; refused values named where they were typed --------------


@pytest.mark.parametrize(
    ("pasted", "read"),
    [
        ("http://192.168.1.10:32400/web/index.html#!/", "http://192.168.1.10:32400"),
        ("http://192.168.1.10:32400/web/index.html#!/server/4f1e/details?key=%2Flibrary", "http://192.168.1.10:32400"),
        ("192.168.1.10:32400", "http://192.168.1.10:32400"),
        ("  192.168.1.10:32400/  ", "http://192.168.1.10:32400"),
        ("http://192.168.1.10", "http://192.168.1.10:32400"),
        ("plex.lan", "http://plex.lan:32400"),
        ("localhost:32400", "http://localhost:32400"),
        ("http://[fd00::10]/web", "http://[fd00::10]:32400"),
        ("http://192.168.1.10:32400/library/metadata/12?X-Plex-Token=abc123", "http://192.168.1.10:32400"),
        ("https://192-168-1-10.0123abcd.plex.direct:32400/", "https://192-168-1-10.0123abcd.plex.direct:32400"),
        ("https://plex.example.com", "https://plex.example.com"),  # a reverse proxy on 443
        ("https://example.com/plex/web/index.html#!/", "https://example.com/plex"),  # under a sub-path
        ("http://plex.lan:80", "http://plex.lan:80"),
    ],
)
def test_a_pasted_plex_address_is_read_as_the_servers(pasted, read):
    assert _settings(plex_url=pasted).plex_url == read
    assert SyncSettings.resolve({"plex_token": "t0ken"}, {"PLEXSYNC_PLEX_URL": pasted}).plex_url == read


def test_plex_web_app_address_is_refused_saying_what_to_do():
    with pytest.raises(ConfigError) as info:
        _settings(plex_url="https://app.plex.tv/desktop/#!/media/4f1e/com.plexapp.plugins.library?source=2")
    assert str(info.value) == (
        "'Plex URL' on Stash's plugin page: https://app.plex.tv is Plex's web app, not your Plex server: "
        "run the task 'Link Plex account', or give the server's own address like http://192.168.1.10:32400"
    )


def test_a_refused_address_never_repeats_a_token_it_carries():
    with pytest.raises(ConfigError) as info:
        _settings(plex_url="ftp://plex/?X-Plex-Token=abc123secret")
    assert "abc123secret" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("stored", "line"),
    [
        ({"poster_shape": "square"}, "'Poster shape' on Stash's plugin page: 'square' is not one of cover, portrait"),
        ({"worker_mode": "manual"}, "'Worker mode' on Stash's plugin page: 'manual' is not one of auto, external"),
    ],
)
def test_an_enumerated_setting_refuses_other_values_naming_the_allowed_ones(stored, line):
    with pytest.raises(ConfigError) as info:
        _settings(**stored)
    assert str(info.value) == line


def test_invalid_settings_lists_every_refused_value_and_not_what_is_merely_unset():
    from plexsync.config import invalid_settings

    stored = {"poster_shape": "Square", "worker_mode": "manual", "retries": "many"}
    assert invalid_settings(stored, environ={}) == [
        "'Retries' on Stash's plugin page: 'many' is not a int number",
        "'Poster shape' on Stash's plugin page: 'Square' is not one of cover, portrait",
        "'Worker mode' on Stash's plugin page: 'manual' is not one of auto, external",
    ]
    assert invalid_settings({}, environ={}) == []  # Plex URL and token not set yet: not refused values
    assert invalid_settings({}, environ={"PLEXSYNC_POSTER_SHAPE": "round"}) == [
        "PLEXSYNC_POSTER_SHAPE: 'round' is not one of cover, portrait"
    ]
