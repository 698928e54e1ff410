"""ClientConfig: validation, precedence of every source, files, region rule, secrecy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from qruntime_session import errors
from qruntime_session._config import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_IAM_URL,
    ClientConfig,
)
from qruntime_session._retry import RetryPolicy
from qruntime_session._timeouts import Timeouts

CRN_US = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct1:inst-us::"
CRN_EU = "crn:v1:bluemix:public:quantum-computing:eu-de:a/acct1:inst-eu::"
CRN_STAGING = "crn:v1:staging:public:quantum-computing:us-east:a/acct1:inst-st::"
CRN_OTHER = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct2:inst-other::"

# Recognisable fake secrets: they must never show up in a repr or an error message.
TOKEN = "FAKE-BEARER-TOKEN-7c1d2e3f"
TOKEN_2 = "FAKE-BEARER-TOKEN-2-aa11bb"
KEY = "FAKE-API-KEY-9a8b7c6d5e"
KEY_2 = "FAKE-API-KEY-2-0f0e0d0c"
KEY_3 = "FAKE-API-KEY-3-123abc"
SECRETS = (TOKEN, TOKEN_2, KEY, KEY_2, KEY_3)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        assert secret[5:] not in text  # not even a fragment of one


def write_accounts(home: Path, data: Any) -> Path:
    path = home / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def account(
    *,
    channel: str = "ibm_quantum_platform",
    token: str | None = KEY,
    instance: str | None = CRN_US,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"channel": channel, "url": "https://cloud.ibm.com", **extra}
    if token is not None:
        entry["token"] = token
    if instance is not None:
        entry["instance"] = instance
    return entry


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- direct construction and validation ------------------------------------------------------


def test_direct_construction_defaults() -> None:
    """A config built from a CRN and a key gets the documented defaults."""
    config = ClientConfig(service_crn=CRN_US, api_key=KEY)
    assert config.base_url == DEFAULT_BASE_URL == "https://quantum.cloud.ibm.com/api"
    assert config.api_version == DEFAULT_API_VERSION == "2026-04-15"
    assert config.iam_url == DEFAULT_IAM_URL == "https://iam.cloud.ibm.com"
    assert config.timeouts == Timeouts()
    assert config.retry == RetryPolicy()
    assert config.access_token is None
    assert config.api_key == KEY
    assert dict(config.source) == {}
    assert config.region == "us-east"


def test_direct_construction_follows_the_crn_region() -> None:
    """Without base_url, a directly built config uses the CRN's region too."""
    assert ClientConfig(service_crn=CRN_EU, api_key=KEY).base_url == (
        "https://eu-de.quantum.cloud.ibm.com/api"
    )
    assert ClientConfig(service_crn=CRN_STAGING, api_key=KEY).iam_url == (
        "https://iam.test.cloud.ibm.com"
    )


def test_trailing_slashes_are_removed() -> None:
    """base_url and iam_url are normalised without a trailing slash."""
    config = ClientConfig(
        service_crn=CRN_US,
        access_token=TOKEN,
        base_url="http://127.0.0.1:8080/api/",
        iam_url="http://127.0.0.1:8080/",
    )
    assert config.base_url == "http://127.0.0.1:8080/api"
    assert config.iam_url == "http://127.0.0.1:8080"


def test_config_is_frozen_and_equality_ignores_source() -> None:
    """ClientConfig is immutable; two configs with equal settings are equal whatever the source."""
    a = ClientConfig(service_crn=CRN_US, api_key=KEY, source={"api_key": "explicit"})
    b = ClientConfig(service_crn=CRN_US, api_key=KEY)
    assert a == b
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.base_url = "https://example.com"  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.source["api_key"] = "x"  # type: ignore[index]


def test_repr_shows_no_secret() -> None:
    """repr/str of a config never contain the token or the API key."""
    config = ClientConfig.from_env(
        {"QRUNTIME_ACCESS_TOKEN": TOKEN, "QRUNTIME_API_KEY": KEY, "QISKIT_IBM_INSTANCE": CRN_US}
    )
    assert config.access_token == TOKEN
    assert config.api_key == KEY
    for text in (repr(config), str(config), repr(attrs.evolve(config))):
        assert_no_secret(text)
        assert CRN_US in text
        assert "env:QRUNTIME_ACCESS_TOKEN" in text  # where it came from is shown


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service_crn": CRN_US}, "no credential configured"),
        ({"service_crn": "inst-us", "api_key": KEY}, "not a CRN"),
        ({"service_crn": KEY, "api_key": KEY_2}, "not a CRN"),
        ({"service_crn": "crn:v1: spaced", "api_key": KEY}, "spaces or control"),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": "ftp://h/api"}, "http"),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": "quantum.cloud.ibm.com"}, "http"),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": "https:///api"}, "http"),
        (
            {"service_crn": CRN_US, "api_key": KEY, "base_url": f"https://u:{KEY_2}@h/api"},
            "credentials",
        ),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": "https://h/api?x=1"}, "query"),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": "https://h/api/v1"}, "/v1"),
        ({"service_crn": CRN_US, "api_key": KEY, "iam_url": "iam.cloud.ibm.com"}, "iam_url"),
        ({"service_crn": CRN_US, "api_key": KEY, "api_version": "2026-4-15"}, "YYYY-MM-DD"),
        ({"service_crn": CRN_US, "api_key": KEY, "api_version": "latest"}, "YYYY-MM-DD"),
        ({"service_crn": CRN_US, "api_key": KEY, "api_version": "2026-02-30"}, "calendar"),
        ({"service_crn": CRN_US, "api_key": ""}, "non-empty"),
        ({"service_crn": CRN_US, "access_token": f"{TOKEN}\n"}, "control characters"),
        ({"service_crn": CRN_US, "api_key": f"{KEY} {KEY_2}"}, "spaces"),
        ({"service_crn": 5, "api_key": KEY}, "service_crn must be a string"),
        ({"service_crn": CRN_US, "api_key": KEY, "base_url": 5}, "base_url must be a string"),
        ({"service_crn": CRN_US, "api_key": KEY, "timeouts": 5}, "Timeouts"),
        ({"service_crn": CRN_US, "api_key": KEY, "retry": {"max_attempts": 1}}, "RetryPolicy"),
    ],
)
def test_validation_errors(kwargs: dict[str, Any], message: str) -> None:
    """Malformed settings raise ConfigurationError (a ValueError) without echoing secrets."""
    with pytest.raises(errors.ConfigurationError, match=re.escape(message)) as info:
        ClientConfig(**kwargs)
    assert isinstance(info.value, ValueError)
    assert_no_secret(str(info.value))
    assert_no_secret(repr(info.value))


def test_missing_credential_message_names_the_environment_variables() -> None:
    """The missing-credential error says which variables would supply one."""
    with pytest.raises(errors.ConfigurationError) as info:
        ClientConfig.from_env({"QISKIT_IBM_INSTANCE": CRN_US})
    message = str(info.value)
    for var in ("QRUNTIME_ACCESS_TOKEN", "QRUNTIME_API_KEY", "QISKIT_IBM_TOKEN"):
        assert var in message


def test_missing_crn_message_names_the_environment_variable() -> None:
    """The missing-CRN error says QISKIT_IBM_INSTANCE would supply it."""
    with pytest.raises(errors.ConfigurationError, match="QISKIT_IBM_INSTANCE"):
        ClientConfig.from_env({"QISKIT_IBM_TOKEN": KEY})


# -- environment and explicit keywords -------------------------------------------------------


def test_from_env_reads_every_variable() -> None:
    """Each environment variable lands in its setting, with its source recorded."""
    config = ClientConfig.from_env(
        {
            "QRUNTIME_ACCESS_TOKEN": TOKEN,
            "QISKIT_IBM_INSTANCE": CRN_EU,
            "QRUNTIME_BASE_URL": "http://127.0.0.1:9999/api/",
            "QRUNTIME_API_VERSION": "2025-05-01",
            "QRUNTIME_IAM_URL": "http://127.0.0.1:9999",
        }
    )
    assert config.access_token == TOKEN
    assert config.api_key is None
    assert config.service_crn == CRN_EU
    assert config.base_url == "http://127.0.0.1:9999/api"
    assert config.api_version == "2025-05-01"
    assert config.iam_url == "http://127.0.0.1:9999"
    assert dict(config.source) == {
        "access_token": "env:QRUNTIME_ACCESS_TOKEN",
        "service_crn": "env:QISKIT_IBM_INSTANCE",
        "base_url": "env:QRUNTIME_BASE_URL",
        "api_version": "env:QRUNTIME_API_VERSION",
        "iam_url": "env:QRUNTIME_IAM_URL",
        "timeouts": "default",
        "retry": "default",
    }


@pytest.mark.parametrize(
    ("environ", "api_key", "key_source"),
    [
        ({"QISKIT_IBM_TOKEN": KEY}, KEY, "env:QISKIT_IBM_TOKEN"),
        ({"QRUNTIME_API_KEY": KEY_2}, KEY_2, "env:QRUNTIME_API_KEY"),
        ({"QRUNTIME_API_KEY": KEY_2, "QISKIT_IBM_TOKEN": KEY}, KEY_2, "env:QRUNTIME_API_KEY"),
        ({"QRUNTIME_API_KEY": "  ", "QISKIT_IBM_TOKEN": KEY}, KEY, "env:QISKIT_IBM_TOKEN"),
        ({"QISKIT_IBM_TOKEN": f"  {KEY}\n"}, KEY, "env:QISKIT_IBM_TOKEN"),
    ],
)
def test_api_key_environment_variables(
    environ: dict[str, str], api_key: str, key_source: str
) -> None:
    """QISKIT_IBM_TOKEN is an API key; QRUNTIME_API_KEY wins over it; blanks are ignored."""
    config = ClientConfig.from_env({"QISKIT_IBM_INSTANCE": CRN_US, **environ})
    assert config.api_key == api_key
    assert config.access_token is None
    assert config.source["api_key"] == key_source


def test_token_and_key_from_the_same_source_are_both_kept() -> None:
    """When one source gives a token and a key, both are kept."""
    config = ClientConfig.from_env(
        {"QISKIT_IBM_INSTANCE": CRN_US, "QRUNTIME_ACCESS_TOKEN": TOKEN, "QISKIT_IBM_TOKEN": KEY}
    )
    assert (config.access_token, config.api_key) == (TOKEN, KEY)


def test_empty_environment_variables_count_as_unset() -> None:
    """Variables set to an empty string are ignored."""
    config = ClientConfig.from_env(
        {
            "QISKIT_IBM_INSTANCE": CRN_US,
            "QISKIT_IBM_TOKEN": KEY,
            "QRUNTIME_ACCESS_TOKEN": "",
            "QRUNTIME_BASE_URL": "",
            "QRUNTIME_API_VERSION": " ",
        }
    )
    assert config.access_token is None
    assert config.base_url == DEFAULT_BASE_URL
    assert config.api_version == DEFAULT_API_VERSION


def test_explicit_keywords_beat_the_environment() -> None:
    """Every explicit keyword overrides the matching environment variable."""
    timeouts = Timeouts(connect=1.0)
    retry = RetryPolicy(max_attempts=2)
    config = ClientConfig.from_env(
        {
            "QISKIT_IBM_INSTANCE": CRN_EU,
            "QRUNTIME_ACCESS_TOKEN": TOKEN,
            "QRUNTIME_BASE_URL": "http://env.invalid/api",
            "QRUNTIME_API_VERSION": "2025-01-01",
            "QRUNTIME_IAM_URL": "http://env.invalid",
        },
        service_crn=CRN_US,
        access_token=TOKEN_2,
        base_url="http://127.0.0.1:1/api",
        api_version="2026-03-15",
        iam_url="http://127.0.0.1:2",
        timeouts=timeouts,
        retry=retry,
    )
    assert config.service_crn == CRN_US
    assert config.access_token == TOKEN_2
    assert config.base_url == "http://127.0.0.1:1/api"
    assert config.api_version == "2026-03-15"
    assert config.iam_url == "http://127.0.0.1:2"
    assert config.timeouts is timeouts
    assert config.retry is retry
    assert set(config.source.values()) == {"explicit"}


@pytest.mark.parametrize(
    ("explicit", "environ", "token", "key", "source_key"),
    [
        # an explicit token is not paired with a key from the environment
        ({"access_token": TOKEN}, {"QISKIT_IBM_TOKEN": KEY}, TOKEN, None, "access_token"),
        # an explicit key is not paired with a token from the environment
        ({"api_key": KEY_2}, {"QRUNTIME_ACCESS_TOKEN": TOKEN}, None, KEY_2, "api_key"),
        # no explicit credential: the environment provides it whole
        ({}, {"QRUNTIME_ACCESS_TOKEN": TOKEN, "QISKIT_IBM_TOKEN": KEY}, TOKEN, KEY, "api_key"),
    ],
)
def test_credential_is_resolved_as_one_unit(
    explicit: dict[str, Any],
    environ: dict[str, str],
    token: str | None,
    key: str | None,
    source_key: str,
) -> None:
    """The highest source with a token or key provides the whole credential."""
    config = ClientConfig.from_env({"QISKIT_IBM_INSTANCE": CRN_US, **environ}, **explicit)
    assert (config.access_token, config.api_key) == (token, key)
    expected_source = "explicit" if explicit else "env:QISKIT_IBM_TOKEN"
    assert config.source[source_key] == expected_source
    assert ("api_key" in config.source) is (key is not None)
    assert ("access_token" in config.source) is (token is not None)


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env() without a mapping reads os.environ."""
    monkeypatch.setenv("QISKIT_IBM_TOKEN", KEY)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN_EU)
    config = ClientConfig.from_env()
    assert (config.api_key, config.service_crn) == (KEY, CRN_EU)


def test_explicit_settings_must_be_strings_and_non_empty() -> None:
    """Explicit keywords of the wrong type or empty are refused before anything else."""
    with pytest.raises(errors.ConfigurationError, match="service_crn= must be a string"):
        ClientConfig.from_env({}, service_crn=123, api_key=KEY)  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="access_token= must not be empty"):
        ClientConfig.from_env({}, service_crn=CRN_US, access_token="  ")
    with pytest.raises(errors.ConfigurationError, match="timeouts= must be a Timeouts"):
        ClientConfig.from_env({}, service_crn=CRN_US, api_key=KEY, timeouts=3)  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="retry= must be a RetryPolicy"):
        ClientConfig.from_env({}, service_crn=CRN_US, api_key=KEY, retry=3)  # type: ignore[arg-type]


def test_errors_name_the_source_not_the_value() -> None:
    """A malformed value from the environment is reported by variable name, without the value."""
    with pytest.raises(errors.ConfigurationError) as info:
        ClientConfig.from_env(
            {"QISKIT_IBM_INSTANCE": CRN_US, "QISKIT_IBM_TOKEN": KEY, "QRUNTIME_API_VERSION": KEY_2}
        )
    assert "api_version (from env:QRUNTIME_API_VERSION)" in str(info.value)
    assert_no_secret(str(info.value))
    with pytest.raises(errors.ConfigurationError) as info:
        ClientConfig.from_env({"QISKIT_IBM_INSTANCE": KEY_2, "QISKIT_IBM_TOKEN": KEY})
    assert "service_crn (from env:QISKIT_IBM_INSTANCE)" in str(info.value)
    assert_no_secret(str(info.value))


# -- region rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crn", "base_url"),
    [
        (CRN_US, "https://quantum.cloud.ibm.com/api"),
        (CRN_EU, "https://eu-de.quantum.cloud.ibm.com/api"),
        (
            "crn:v1:bluemix:public:quantum-computing:jp-tok:a/x:y::",
            "https://jp-tok.quantum.cloud.ibm.com/api",
        ),
    ],
)
def test_region_rule(crn: str, base_url: str) -> None:
    """The base URL follows the CRN's 6th field: us-east has no prefix, others do."""
    config = ClientConfig.from_env({"QISKIT_IBM_INSTANCE": crn, "QISKIT_IBM_TOKEN": KEY})
    assert config.base_url == base_url
    assert config.source["base_url"] == "crn-region"


def test_region_rule_does_not_apply_when_base_url_is_set() -> None:
    """A base URL from any source replaces the region rule."""
    config = ClientConfig.from_env(
        {"QISKIT_IBM_INSTANCE": CRN_EU, "QISKIT_IBM_TOKEN": KEY},
        base_url="http://127.0.0.1:5/api",
    )
    assert config.base_url == "http://127.0.0.1:5/api"


@pytest.mark.parametrize(
    "crn",
    [
        "crn:v1:bluemix:public:quantum-computing",
        "crn:v1:bluemix:public:quantum-computing::a/x:y::",
        "crn:v1:bluemix:public:quantum-computing:EU_DE:a/x:y::",
    ],
)
def test_region_rule_needs_a_readable_region(crn: str) -> None:
    """A CRN without a usable region needs an explicit base_url."""
    environ = {"QISKIT_IBM_INSTANCE": crn, "QISKIT_IBM_TOKEN": KEY}
    with pytest.raises(errors.ConfigurationError, match="region"):
        ClientConfig.from_env(environ)
    config = ClientConfig.from_env(environ, base_url="http://127.0.0.1:5/api")
    assert config.service_crn == crn


def test_staging_crn_uses_the_test_iam() -> None:
    """A staging CRN exchanges keys at iam.test.cloud.ibm.com unless iam_url is set."""
    environ = {"QISKIT_IBM_INSTANCE": CRN_STAGING, "QISKIT_IBM_TOKEN": KEY}
    config = ClientConfig.from_env(environ)
    assert config.iam_url == "https://iam.test.cloud.ibm.com"
    assert config.source["iam_url"] == "crn-staging"
    assert ClientConfig.from_env(environ, iam_url="http://127.0.0.1:1").iam_url == (
        "http://127.0.0.1:1"
    )
    assert (
        ClientConfig.from_env({**environ, "QISKIT_IBM_INSTANCE": CRN_US}).source["iam_url"]
        == "default"
    )


@pytest.mark.parametrize(
    ("cloud_url", "crn", "base_url"),
    [
        ("https://cloud.ibm.com", CRN_US, "https://quantum.cloud.ibm.com/api"),
        ("https://cloud.ibm.com/", CRN_EU, "https://eu-de.quantum.cloud.ibm.com/api"),
        ("https://test.cloud.ibm.com", CRN_US, "https://quantum.test.cloud.ibm.com/api"),
        ("https://test.cloud.ibm.com", CRN_EU, "https://eu-de.quantum.test.cloud.ibm.com/api"),
    ],
)
def test_qiskit_ibm_url_is_an_ibm_cloud_url(cloud_url: str, crn: str, base_url: str) -> None:
    """QISKIT_IBM_URL is read as qiskit reads it: the IBM Cloud URL the API host derives from."""
    config = ClientConfig.from_env(
        {"QISKIT_IBM_INSTANCE": crn, "QISKIT_IBM_TOKEN": KEY, "QISKIT_IBM_URL": cloud_url}
    )
    assert config.base_url == base_url
    assert config.source["base_url"] == "env:QISKIT_IBM_URL"


def test_qiskit_ibm_url_with_a_path_is_refused_and_loses_to_qruntime_base_url() -> None:
    """An API-style QISKIT_IBM_URL is an error; QRUNTIME_BASE_URL takes precedence over it."""
    environ = {
        "QISKIT_IBM_INSTANCE": CRN_US,
        "QISKIT_IBM_TOKEN": KEY,
        "QISKIT_IBM_URL": "https://auth.quantum-computing.ibm.com/api",
    }
    with pytest.raises(errors.ConfigurationError, match="QISKIT_IBM_URL"):
        ClientConfig.from_env(environ)
    config = ClientConfig.from_env({**environ, "QRUNTIME_BASE_URL": "http://127.0.0.1:3/api"})
    assert config.base_url == "http://127.0.0.1:3/api"


# -- qiskit-ibm-runtime saved accounts -------------------------------------------------------


def test_default_account_marked_is_default_account(home: Path) -> None:
    """The account flagged is_default_account is used, its token as an API key."""
    write_accounts(
        home,
        {
            "default-ibm-quantum-platform": account(token=KEY_2, instance=CRN_OTHER),
            "work": account(token=KEY, instance=CRN_EU, is_default_account=True),
        },
    )
    config = ClientConfig.load(environ={})
    assert config.api_key == KEY
    assert config.access_token is None
    assert config.service_crn == CRN_EU
    assert config.base_url == "https://eu-de.quantum.cloud.ibm.com/api"
    assert config.source["api_key"] == "qiskit-account:work"
    assert config.source["service_crn"] == "qiskit-account:work"
    assert config.source["base_url"] == "crn-region"


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["default-ibm-cloud", "default-ibm-quantum-platform"], "default-ibm-quantum-platform"),
        (["default", "default-ibm-cloud"], "default-ibm-cloud"),
        (["default", "mine"], "default"),
        (["only-one"], "only-one"),
    ],
)
def test_default_account_by_name(home: Path, names: list[str], chosen: str) -> None:
    """Without a flag the default names are tried in order, else the only account."""
    keys = dict(zip(names, (KEY, KEY_2), strict=False))
    write_accounts(home, {name: account(token=keys[name]) for name in names})
    config = ClientConfig.load(environ={})
    assert config.api_key == keys[chosen]
    assert config.source["api_key"] == f"qiskit-account:{chosen}"


def test_no_default_account_among_several_is_not_guessed(home: Path) -> None:
    """Several accounts, none default: none is used (and the error says what is missing)."""
    write_accounts(home, {"a": account(token=KEY), "b": account(token=KEY_2)})
    with pytest.raises(errors.ConfigurationError, match="no service CRN"):
        ClientConfig.load(environ={})


def test_named_account_by_keyword_and_by_environment(home: Path) -> None:
    """account= and QRUNTIME_ACCOUNT choose an account; the keyword wins."""
    write_accounts(
        home,
        {
            "default-ibm-quantum-platform": account(token=KEY),
            "eu": account(token=KEY_2, instance=CRN_EU),
            "other": account(token=KEY_3, instance=CRN_OTHER),
        },
    )
    assert ClientConfig.load(environ={}, account="eu").api_key == KEY_2
    assert ClientConfig.load(environ={"QRUNTIME_ACCOUNT": "other"}).api_key == KEY_3
    config = ClientConfig.load(environ={"QRUNTIME_ACCOUNT": "other"}, account="eu")
    assert config.api_key == KEY_2
    assert config.source["api_key"] == "qiskit-account:eu"


def test_named_account_missing(home: Path) -> None:
    """Asking for an account that is not saved is an error listing the saved ones."""
    write_accounts(home, {"alpha": account(), "beta": account()})
    with pytest.raises(errors.ConfigurationError, match=r"'gamma'.*alpha, beta"):
        ClientConfig.load(environ={}, account="gamma")


def test_named_account_without_a_file(home: Path) -> None:
    """Asking for an account when no accounts file exists is an error naming the file."""
    with pytest.raises(errors.ConfigurationError, match=r"QRUNTIME_ACCOUNT.*qiskit-ibm\.json"):
        ClientConfig.load(environ={"QRUNTIME_ACCOUNT": "x"})


def test_missing_accounts_file_is_skipped(home: Path) -> None:
    """Without ~/.qiskit/qiskit-ibm.json the other sources still work."""
    config = ClientConfig.load(environ={"QISKIT_IBM_TOKEN": KEY, "QISKIT_IBM_INSTANCE": CRN_US})
    assert config.api_key == KEY


def test_legacy_ibm_quantum_account(home: Path) -> None:
    """A named ibm_quantum account is refused; a default-flagged one is skipped."""
    write_accounts(
        home,
        {
            "default-ibm-quantum": account(channel="ibm_quantum", is_default_account=True),
            "default-ibm-cloud": account(channel="ibm_cloud", token=KEY_2),
        },
    )
    with pytest.raises(errors.ConfigurationError, match="retired 'ibm_quantum' channel") as info:
        ClientConfig.load(environ={}, account="default-ibm-quantum")
    assert_no_secret(str(info.value))
    config = ClientConfig.load(environ={})
    assert config.api_key == KEY_2
    assert config.source["api_key"] == "qiskit-account:default-ibm-cloud"


@pytest.mark.parametrize(
    ("crn", "base_url"),
    [
        (CRN_US, "https://private.us-east.quantum.cloud.ibm.com/api"),
        (CRN_EU, "https://private.eu-de.quantum.cloud.ibm.com/api"),
    ],
)
def test_private_endpoint_account(home: Path, crn: str, base_url: str) -> None:
    """private_endpoint: true selects the private API host and the private IAM endpoint."""
    write_accounts(home, {"p": account(instance=crn, private_endpoint=True)})
    config = ClientConfig.load(environ={})
    assert config.base_url == base_url
    assert config.iam_url == "https://private.iam.cloud.ibm.com"
    assert config.source["base_url"] == "qiskit-account:p"
    assert config.source["iam_url"] == "qiskit-account:p"


def test_private_endpoint_false_and_custom_cloud_url(home: Path) -> None:
    """private_endpoint false keeps the public host; a non-default account url moves it."""
    write_accounts(
        home,
        {
            "pub": account(private_endpoint=False),
            "test": account(instance=CRN_EU, url="https://test.cloud.ibm.com"),
        },
    )
    public = ClientConfig.load(environ={}, account="pub")
    assert public.base_url == DEFAULT_BASE_URL
    assert public.source["base_url"] == "crn-region"
    test = ClientConfig.load(environ={}, account="test")
    assert test.base_url == "https://eu-de.quantum.test.cloud.ibm.com/api"
    assert test.source["base_url"] == "qiskit-account:test"


def test_environment_beats_the_saved_account(home: Path) -> None:
    """Environment variables override the account per setting, the credential as a whole."""
    write_accounts(home, {"p": account(token=KEY, instance=CRN_US, private_endpoint=True)})
    config = ClientConfig.load(
        environ={
            "QRUNTIME_ACCESS_TOKEN": TOKEN,
            "QISKIT_IBM_INSTANCE": CRN_EU,
            "QRUNTIME_BASE_URL": "http://127.0.0.1:7/api",
        }
    )
    assert config.access_token == TOKEN
    assert config.api_key is None  # not mixed in from the account
    assert config.service_crn == CRN_EU
    assert config.base_url == "http://127.0.0.1:7/api"
    assert config.iam_url == "https://private.iam.cloud.ibm.com"  # nothing above set it


def test_account_region_follows_the_resolved_crn(home: Path) -> None:
    """A private account used with a CRN from the environment takes that CRN's region."""
    write_accounts(home, {"p": account(instance=CRN_US, private_endpoint=True)})
    config = ClientConfig.load(environ={"QISKIT_IBM_INSTANCE": CRN_EU})
    assert config.base_url == "https://private.eu-de.quantum.cloud.ibm.com/api"


def test_custom_accounts_file(tmp_path: Path) -> None:
    """qiskit_accounts_file= reads another file instead of ~/.qiskit/qiskit-ibm.json."""
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps({"x": account(token=KEY_3)}), encoding="utf-8")
    config = ClientConfig.load(environ={}, qiskit_accounts_file=path)
    assert config.api_key == KEY_3


def test_account_without_instance_combines_with_other_sources(home: Path) -> None:
    """Settings resolve one by one: the account's key with the config file's CRN."""
    write_accounts(home, {"k": account(instance=None)})
    config_file = write_yaml(home / "c.yaml", f"service_crn: '{CRN_EU}'\n")
    config = ClientConfig.load(environ={}, config_file=config_file)
    assert (config.api_key, config.service_crn) == (KEY, CRN_EU)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"not valid JSON \(line 1"),
        ('["a"]', "must be a JSON object"),
        ('{"x": "just a string"}', "'x' in .* is not a JSON object"),
        (json.dumps({"x": {"channel": "ibm_cloud", "token": 42}}), "token must be a string"),
        (json.dumps({"x": {"channel": "ibm_cloud", "instance": []}}), "instance must be a string"),
        (json.dumps({"x": account(private_endpoint="yes")}), "private_endpoint must be"),
        (json.dumps({"x": account(channel="local")}), "no supported channel"),
        (json.dumps({"x": {"token": KEY}}), "no supported channel"),
    ],
)
def test_bad_accounts_file(home: Path, content: str, message: str) -> None:
    """A malformed accounts file or account gives a clear error that leaks no secret."""
    path = home / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir()
    path.write_text(content, encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match=message) as info:
        ClientConfig.load(environ={}, account="x")
    assert_no_secret(str(info.value))


def test_invalid_json_error_does_not_quote_the_file(home: Path) -> None:
    """A JSON syntax error reports a position only, never the text around it."""
    path = home / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir()
    path.write_text('{"x": {"token": "' + KEY + '" "channel": 1}}', encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match="not valid JSON") as info:
        ClientConfig.load(environ={})
    assert_no_secret(str(info.value))
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# -- YAML config file ------------------------------------------------------------------------

FULL_YAML = f"""\
# qruntime-session configuration
service_crn: "{CRN_EU}"
api_key: "{KEY}"
base_url: http://127.0.0.1:8000/api/
api_version: 2026-03-15
iam_url: http://127.0.0.1:8000
timeouts:
  connect: 5
  read: 30.5
  total: null
  close: 10
retry:
  max_attempts: 2
  initial_backoff: 0.1
  max_elapsed: 20
"""


def test_from_file_reads_every_key(tmp_path: Path) -> None:
    """from_file maps every YAML key to its setting (an unquoted date becomes the version)."""
    path = write_yaml(tmp_path / "config.yaml", FULL_YAML)
    config = ClientConfig.from_file(path)
    assert config.service_crn == CRN_EU
    assert config.api_key == KEY
    assert config.base_url == "http://127.0.0.1:8000/api"
    assert config.api_version == "2026-03-15"
    assert config.iam_url == "http://127.0.0.1:8000"
    assert config.timeouts == Timeouts(connect=5, read=30.5, total=None, close=10)
    assert config.retry == RetryPolicy(max_attempts=2, initial_backoff=0.1, max_elapsed=20)
    assert set(config.source.values()) == {f"file:{path}"}
    assert_no_secret(repr(config))


def test_from_file_explicit_keywords_win_and_environment_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """from_file lets keywords override the file and never reads the environment."""
    monkeypatch.setenv("QRUNTIME_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("QRUNTIME_API_VERSION", "2024-01-01")
    path = write_yaml(tmp_path / "c.yaml", FULL_YAML)
    config = ClientConfig.from_file(path, api_version="2025-01-01", api_key=KEY_2)
    assert config.api_version == "2025-01-01"
    assert config.api_key == KEY_2
    assert config.access_token is None
    assert config.source["api_key"] == "explicit"
    assert config.source["timeouts"] == f"file:{path}"


def test_empty_yaml_file_is_allowed(tmp_path: Path) -> None:
    """An empty file configures nothing; other sources fill in."""
    path = write_yaml(tmp_path / "c.yaml", "# nothing yet\n")
    config = ClientConfig.from_file(path, service_crn=CRN_US, access_token=TOKEN)
    assert config.base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a\n- b\n", "must be a YAML mapping"),
        ("just text\n", "must be a YAML mapping"),
        ("service_crn: x\ntoken: y\ninstance: z\n", "unknown keys: instance, token"),
        (
            f"api_key: 12345\nservice_crn: '{CRN_US}'\n",
            "api_key in config file .* non-empty string",
        ),
        ("timeouts: 5\n", "timeouts in config file .* must be a mapping"),
        ("timeouts: {connect: 1, socket: 2}\n", "timeouts .* unknown keys: socket"),
        ("timeouts: {connect: fast}\n", "timeouts.connect .* must be a number"),
        ("timeouts: {connect: true}\n", "timeouts.connect .* must be a number"),
        ("timeouts: {connect: -1}\n", "timeouts in config file"),
        ("retry: {jitter: 2}\n", "retry in config file"),
        ("retry: {attempts: 2}\n", "retry .* unknown keys: attempts"),
        ("retry: [1, 2]\n", "retry in config file .* must be a mapping"),
        (f"api_key: '{KEY}\nservice_crn: x\n", r"not valid YAML at line \d+, column \d+"),
        (f"api_key: {KEY}\n  bad: indent\n", "not valid YAML"),
        (
            f"service_crn: {CRN_US}\napi_key: {KEY}\n",
            r"not valid YAML at line 1, column \d+ \(mapping values .*quote values",
        ),
    ],
)
def test_bad_yaml_file(tmp_path: Path, content: str, message: str) -> None:
    """Malformed YAML files raise ConfigurationError naming the file, never quoting secrets."""
    path = write_yaml(tmp_path / "c.yaml", content)
    with pytest.raises(errors.ConfigurationError, match=message) as info:
        ClientConfig.from_file(path, service_crn=CRN_US, access_token=TOKEN)
    assert str(path) in str(info.value)
    assert_no_secret(str(info.value))


def test_missing_yaml_file(tmp_path: Path) -> None:
    """from_file on a missing path is an error."""
    with pytest.raises(errors.ConfigurationError, match="does not exist"):
        ClientConfig.from_file(tmp_path / "nope.yaml")


def test_config_file_keyword_beats_qruntime_config(tmp_path: Path) -> None:
    """config_file= is used instead of QRUNTIME_CONFIG; without it QRUNTIME_CONFIG is read."""
    a = write_yaml(tmp_path / "a.yaml", f"service_crn: '{CRN_US}'\napi_key: {KEY}\n")
    b = write_yaml(tmp_path / "b.yaml", f"service_crn: '{CRN_EU}'\napi_key: {KEY_2}\n")
    assert ClientConfig.load(environ={"QRUNTIME_CONFIG": str(b)}, config_file=a).api_key == KEY
    config = ClientConfig.load(environ={"QRUNTIME_CONFIG": str(b)})
    assert config.api_key == KEY_2
    assert config.source["service_crn"] == f"file:{b}"


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    """A config file named by keyword or QRUNTIME_CONFIG must exist."""
    with pytest.raises(errors.ConfigurationError, match="QRUNTIME_CONFIG"):
        ClientConfig.load(environ={"QRUNTIME_CONFIG": str(tmp_path / "missing.yaml")})
    with pytest.raises(errors.ConfigurationError, match="config_file="):
        ClientConfig.load(environ={}, config_file=tmp_path / "missing.yaml")


def test_default_config_file_location(home: Path) -> None:
    """~/.config/qruntime-session/config.yaml is read when it exists."""
    path = write_yaml(
        home / ".config" / "qruntime-session" / "config.yaml",
        f"service_crn: '{CRN_US}'\naccess_token: {TOKEN}\n",
    )
    config = ClientConfig.load(environ={})
    assert config.access_token == TOKEN
    assert config.source["access_token"] == f"file:{path}"


def test_xdg_config_home_moves_the_default_file(tmp_path: Path, home: Path) -> None:
    """$XDG_CONFIG_HOME replaces ~/.config for the default config file."""
    write_yaml(
        home / ".config" / "qruntime-session" / "config.yaml",
        f"service_crn: '{CRN_US}'\naccess_token: {TOKEN}\n",
    )
    xdg = tmp_path / "xdg"
    write_yaml(
        xdg / "qruntime-session" / "config.yaml",
        f"service_crn: '{CRN_US}'\naccess_token: {TOKEN_2}\n",
    )
    assert ClientConfig.load(environ={"XDG_CONFIG_HOME": str(xdg)}).access_token == TOKEN_2


def test_home_from_environ_is_used_for_files(tmp_path: Path) -> None:
    """HOME in the environ mapping locates ~/.qiskit and ~ in config paths."""
    other_home = tmp_path / "other-home"
    write_accounts(other_home, {"default": account(token=KEY_3)})
    write_yaml(other_home / "conf.yaml", "api_version: '2025-05-01'\n")
    config = ClientConfig.load(environ={"HOME": str(other_home)}, config_file="~/conf.yaml")
    assert config.api_key == KEY_3
    assert config.api_version == "2025-05-01"


# -- the whole precedence chain --------------------------------------------------------------


def test_full_precedence_chain(home: Path) -> None:
    """explicit > environment > qiskit account > YAML file > defaults, setting by setting."""
    write_accounts(home, {"acc": account(token=KEY_2, instance=CRN_OTHER, is_default_account=True)})
    config_file = write_yaml(
        home / "c.yaml",
        f"service_crn: '{CRN_EU}'\n"
        f"access_token: {TOKEN_2}\n"
        "api_version: '2025-05-01'\n"
        "iam_url: http://yaml.invalid\n"
        "base_url: http://yaml.invalid/api\n"
        "retry: {max_attempts: 3}\n",
    )
    environ = {"QRUNTIME_API_VERSION": "2026-02-15", "QISKIT_IBM_TOKEN": KEY_3}
    config = ClientConfig.load(
        environ=environ, config_file=config_file, timeouts=Timeouts(connect=3.0)
    )
    assert config.timeouts == Timeouts(connect=3.0)  # explicit
    assert config.api_version == "2026-02-15"  # environment beats the file
    assert config.api_key == KEY_3  # environment beats the account (credential as a unit)
    assert config.access_token is None  # the file's token is not mixed in
    assert config.service_crn == CRN_OTHER  # account beats the file
    assert config.base_url == "http://yaml.invalid/api"  # only the file sets it
    assert config.iam_url == "http://yaml.invalid"
    assert config.retry == RetryPolicy(max_attempts=3)
    assert dict(config.source) == {
        "timeouts": "explicit",
        "api_version": "env:QRUNTIME_API_VERSION",
        "api_key": "env:QISKIT_IBM_TOKEN",
        "service_crn": "qiskit-account:acc",
        "base_url": f"file:{config_file}",
        "iam_url": f"file:{config_file}",
        "retry": f"file:{config_file}",
    }

    # Remove the environment: the account now provides the credential, still unmixed.
    config = ClientConfig.load(environ={}, config_file=config_file)
    assert (config.api_key, config.access_token) == (KEY_2, None)
    assert config.api_version == "2025-05-01"

    # Remove the account too: the file provides everything it has.
    (home / ".qiskit" / "qiskit-ibm.json").unlink()
    config = ClientConfig.load(environ={}, config_file=config_file)
    assert (config.access_token, config.service_crn) == (TOKEN_2, CRN_EU)
    assert config.timeouts == Timeouts()
    assert config.source["timeouts"] == "default"


def test_from_env_reads_no_files(home: Path) -> None:
    """from_env ignores the saved accounts and the default config file."""
    write_accounts(home, {"default": account()})
    write_yaml(
        home / ".config" / "qruntime-session" / "config.yaml",
        f"service_crn: '{CRN_US}'\napi_key: {KEY}\n",
    )
    with pytest.raises(errors.ConfigurationError, match="no service CRN"):
        ClientConfig.from_env({})


# -- the environment is read in one place ----------------------------------------------------


def test_only_the_config_module_reads_os_environ() -> None:
    """No package module other than _config.py reads os.environ or os.getenv."""
    package = Path(__file__).resolve().parents[2] / "qruntime_session"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_config.py"
        and re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_nothing_configured_reports_both_missing_settings() -> None:
    """With no CRN and no credential, one error names both."""
    with pytest.raises(errors.ConfigurationError) as info:
        ClientConfig.from_env({})
    assert "no service CRN" in str(info.value)
    assert "no credential" in str(info.value)


def test_documented_yaml_example_loads(tmp_path: Path) -> None:
    """The YAML example in docs/configuration.md is a valid config file."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the configuration page has a YAML example"
    path = write_yaml(tmp_path / "example.yaml", blocks[0])
    config = ClientConfig.from_file(path)
    assert config.service_crn.startswith("crn:v1:bluemix:public:quantum-computing:eu-de:")
    assert config.base_url == "https://eu-de.quantum.cloud.ibm.com/api"
    assert config.api_version == DEFAULT_API_VERSION
    assert config.timeouts == Timeouts()
    assert config.retry == RetryPolicy()


def test_files_that_are_not_utf8_are_reported(tmp_path: Path, home: Path) -> None:
    """A config file or accounts file that is not UTF-8 text gives a ConfigurationError."""
    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_bytes(b"api_key: \xff\xfe\n")
    with pytest.raises(errors.ConfigurationError, match="not UTF-8"):
        ClientConfig.from_file(yaml_path)
    accounts = home / ".qiskit" / "qiskit-ibm.json"
    accounts.parent.mkdir()
    accounts.write_bytes(b'{"x": "\xff"}')
    with pytest.raises(errors.ConfigurationError, match="not UTF-8"):
        ClientConfig.load(environ={})
