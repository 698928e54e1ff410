"""Client configuration, resolved once from keywords, environment and files.

Precedence, highest first -- each setting is taken from the first source that provides it:

1. explicit keyword arguments (``ClientConfig.load(service_crn=…, api_key=…)``);
2. environment variables (``QRUNTIME_*``, and ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` /
   ``QISKIT_IBM_URL`` as qiskit-ibm-runtime users already have them);
3. qiskit-ibm-runtime's saved accounts, ``~/.qiskit/qiskit-ibm.json``: the account named by
   ``account=`` or ``QRUNTIME_ACCOUNT``, else the default account;
4. a YAML config file: ``config_file=``, else ``QRUNTIME_CONFIG``, else
   ``$XDG_CONFIG_HOME/qruntime-session/config.yaml`` (``~/.config/…``) when it exists;
5. defaults (the base URL follows the region of the CRN).

The credential is resolved as **one unit**: the highest source that provides a bearer token or
an API key provides the credential, and nothing from lower sources is mixed in (an explicit
``access_token`` is never paired with an API key from the environment). A source providing
both keeps both.

[`ClientConfig.from_env`][qruntime_session.ClientConfig.from_env] reads only the environment
(no files), [`ClientConfig.from_file`][qruntime_session.ClientConfig.from_file] reads only one
YAML file (no environment). This module is the
only place in the package that looks at ``os.environ``, and only when no ``environ`` mapping
is passed. Secrets (``access_token``, ``api_key``) never appear in ``repr`` or in error
messages; errors name the source of the offending setting instead of echoing its value.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import attrs

from qruntime_session._retry import RetryPolicy
from qruntime_session._timeouts import Timeouts
from qruntime_session.errors import ConfigurationError

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_CLOUD_URL",
    "DEFAULT_IAM_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ClientConfig",
]

_log = logging.getLogger("qruntime_session.config")
_T = TypeVar("_T")

DEFAULT_BASE_URL: Final = "https://quantum.cloud.ibm.com/api"
"""The API base URL for ``us-east``; the client appends ``/v1/…``."""
DEFAULT_API_VERSION: Final = "2026-04-15"
"""The ``IBM-API-Version`` sent when nothing else is configured."""
DEFAULT_MAX_RESPONSE_BYTES: Final = 256 * 1024**2
"""The default bound on one answer, as sent and inflated (256 MiB; see ``max_response_bytes``)."""
DEFAULT_IAM_URL: Final = "https://iam.cloud.ibm.com"
"""IBM Cloud IAM; the API key is exchanged at ``<iam_url>/identity/token``."""
DEFAULT_CLOUD_URL: Final = "https://cloud.ibm.com"
"""The IBM Cloud URL that qiskit-ibm-runtime stores as an account's ``url``."""

_STAGING_IAM_HOST: Final = "iam.test.cloud.ibm.com"
_PRODUCTION_IAM_HOST: Final = "iam.cloud.ibm.com"

# Environment variables.
ENV_ACCESS_TOKEN: Final = "QRUNTIME_ACCESS_TOKEN"  # noqa: S105 - a variable name, no secret
ENV_API_KEY: Final = "QRUNTIME_API_KEY"
ENV_QISKIT_TOKEN: Final = "QISKIT_IBM_TOKEN"  # noqa: S105 - a variable name, no secret
ENV_QISKIT_INSTANCE: Final = "QISKIT_IBM_INSTANCE"
ENV_QISKIT_URL: Final = "QISKIT_IBM_URL"
ENV_BASE_URL: Final = "QRUNTIME_BASE_URL"
ENV_API_VERSION: Final = "QRUNTIME_API_VERSION"
ENV_IAM_URL: Final = "QRUNTIME_IAM_URL"
ENV_CONFIG: Final = "QRUNTIME_CONFIG"
ENV_ACCOUNT: Final = "QRUNTIME_ACCOUNT"

_NO_CREDENTIAL = (
    "no credential configured: pass access_token= (an IAM bearer token) or api_key= "
    f"(an IBM Cloud API key), or set {ENV_ACCESS_TOKEN}, {ENV_API_KEY} or {ENV_QISKIT_TOKEN}, "
    "or save an account with qiskit-ibm-runtime (~/.qiskit/qiskit-ibm.json), "
    "or put access_token/api_key in the config file"
)
_NO_CRN = (
    "no service CRN configured: pass service_crn= (the instance CRN, 'crn:v1:…'), "
    f"or set {ENV_QISKIT_INSTANCE}, or save a qiskit-ibm-runtime account with an instance, "
    "or put service_crn in the config file"
)

_QISKIT_CHANNELS: Final = frozenset({"ibm_quantum_platform", "ibm_cloud"})
_QISKIT_LEGACY_CHANNEL: Final = "ibm_quantum"
_QISKIT_DEFAULT_NAMES: Final = ("default-ibm-quantum-platform", "default-ibm-cloud", "default")

_API_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REGION_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_HEADER_SAFE_RE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: no spaces, no control characters

_STRING_SETTINGS: Final = (
    "service_crn",
    "base_url",
    "access_token",
    "api_key",
    "api_version",
    "iam_url",
)
_SECRET_SETTINGS: Final = frozenset({"access_token", "api_key"})
_YAML_KEYS: Final = frozenset({*_STRING_SETTINGS, "timeouts", "retry"})


# -- small helpers ---------------------------------------------------------------------------


def _named(name: str, source: Mapping[str, str]) -> str:
    """``name``, plus where it came from when that is known (never its value)."""
    where = source.get(name)
    return f"{name} (from {where})" if where else name


def _check_http_url(name: str, value: object, source: Mapping[str, str]) -> None:
    if not isinstance(value, str):
        raise ConfigurationError(f"{_named(name, source)} must be a string")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{_named(name, source)} must be an absolute http:// or https:// URL"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{_named(name, source)} must not contain credentials")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{_named(name, source)} must not have a query or fragment")


def _check_crn(value: object, source: Mapping[str, str]) -> None:
    name = _named("service_crn", source)
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string")
    if not value.startswith("crn:"):
        raise ConfigurationError(
            f"{name} is not a CRN: an instance CRN starts with 'crn:' "
            "(e.g. crn:v1:bluemix:public:quantum-computing:us-east:a/<account>:<instance>::)"
        )
    if not _HEADER_SAFE_RE.fullmatch(value):
        raise ConfigurationError(f"{name} must not contain spaces or control characters")


def _crn_field(crn: str, index: int) -> str:
    fields = crn.split(":")
    return fields[index] if len(fields) > index else ""


def _crn_region(crn: str, source: Mapping[str, str]) -> str:
    """The region of a CRN: its 6th colon-separated field (``us-east``, ``eu-de``, …)."""
    region = _crn_field(crn, 5)
    if not _REGION_RE.fullmatch(region):
        raise ConfigurationError(
            f"cannot tell the region from {_named('service_crn', source)}: its 6th "
            "colon-separated field must be a region such as us-east or eu-de; "
            "set base_url to choose the API URL directly"
        )
    return region


def _api_base_url(
    cloud_url: str, crn: str, *, private: bool, what: str, source: Mapping[str, str]
) -> str:
    """The API base URL qiskit-ibm-runtime derives from an IBM Cloud URL and a CRN.

    ``https://cloud.ibm.com`` gives ``https://quantum.cloud.ibm.com/api`` for ``us-east``,
    ``https://<region>.quantum.cloud.ibm.com/api`` elsewhere, and
    ``https://private.<region>.quantum.cloud.ibm.com/api`` for a private endpoint.
    """
    parts = urlsplit(cloud_url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        raise ConfigurationError(
            f"{what} must be an IBM Cloud URL such as {DEFAULT_CLOUD_URL} (scheme and host "
            "only); set base_url to choose the API URL directly"
        )
    region = _crn_region(crn, source)
    if private:
        prefix = f"private.{region}."
    elif region == "us-east":
        prefix = ""
    else:
        prefix = f"{region}."
    return f"{parts.scheme}://{prefix}quantum.{parts.netloc}/api"


def _default_iam_url(crn: str, *, private: bool) -> str:
    """IAM for a CRN as qiskit-ibm-runtime picks it: staging CRNs use the test IAM."""
    host = _STAGING_IAM_HOST if _crn_field(crn, 2) == "staging" else _PRODUCTION_IAM_HOST
    return f"https://{'private.' if private else ''}{host}"


def _crn_base_url(crn: object) -> str:
    """The region rule for a directly built config; a CRN it cannot read gives the default.

    (A malformed CRN is then reported by the validation, with a proper message.)
    """
    if isinstance(crn, str) and _REGION_RE.fullmatch(_crn_field(crn, 5)):
        return _api_base_url(DEFAULT_CLOUD_URL, crn, private=False, what="", source={})
    return DEFAULT_BASE_URL


def _crn_iam_url(crn: object) -> str:
    return _default_iam_url(crn, private=False) if isinstance(crn, str) else DEFAULT_IAM_URL


def _strip_slash(value: Any) -> Any:
    return value.rstrip("/") if isinstance(value, str) else value


def _freeze(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _home(environ: Mapping[str, str]) -> Path | None:
    home = environ.get("HOME")
    if home:
        return Path(home)
    try:
        return Path.home()
    except RuntimeError:  # pragma: no cover - no home directory can be determined at all
        return None


def _expand(path: str | os.PathLike[str], environ: Mapping[str, str]) -> Path:
    """``path`` with a leading ``~`` replaced by the home directory of ``environ``."""
    text = os.fspath(path)
    if text == "~" or text.startswith(("~/", "~" + os.sep)):
        home = _home(environ)
        if home is not None:
            return home / text[2:] if len(text) > 1 else home
    return Path(text)


# -- the configuration value -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ClientConfig:
    """Everything a client needs to talk to Qiskit Runtime, validated.

    Build it with [`load`][qruntime_session.ClientConfig.load] (keywords, environment, qiskit
    saved account, YAML file, defaults -- in that order of precedence),
    [`from_env`][qruntime_session.ClientConfig.from_env] or
    [`from_file`][qruntime_session.ClientConfig.from_file], or directly with keywords
    (validated the same way, no lookups). ``repr`` never shows ``access_token`` or ``api_key``.

    Args:
        service_crn: The CRN of the Qiskit Runtime instance (``crn:v1:…``); it names the region.
        base_url: The API base URL, without ``/v1`` (default: the CRN's region's URL).
        access_token: A bearer token, sent as is (it expires; prefer ``api_key``).
        api_key: An IBM Cloud API key, exchanged at IAM for bearer tokens as they expire.
        api_version: The ``IBM-API-Version`` date sent with every request (``YYYY-MM-DD``).
        iam_url: The IAM service that exchanges ``api_key`` (default: production, or staging
            for a staging CRN).
        timeouts: The HTTP timeouts of every request.
        retry: How failed requests are retried.
        max_response_bytes: The largest answer the client reads, in bytes, as sent and once
            inflated (gzip, deflate): past it reading stops with
            [`ResponseTooLargeError`][qruntime_session.errors.ResponseTooLargeError], nothing
            allocated past the limit. Generous by default; set it with
            ``attrs.evolve(config, max_response_bytes=…)``.
        source: Where each setting came from (``"explicit"``, ``"env:QISKIT_IBM_TOKEN"``,
            ``"qiskit-account:<name>"``, ``"file:<path>"``, ``"crn-region"``,
            ``"default"``); it never holds a secret value.

    Raises:
        ConfigurationError: A setting is missing or malformed, or there is no credential
            (the message names the setting's source, never a secret).
    """

    service_crn: str
    base_url: str = attrs.field(
        default=attrs.Factory(lambda self: _crn_base_url(self.service_crn), takes_self=True),
        converter=_strip_slash,
    )
    access_token: str | None = attrs.field(default=None, repr=False)
    api_key: str | None = attrs.field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    iam_url: str = attrs.field(
        default=attrs.Factory(lambda self: _crn_iam_url(self.service_crn), takes_self=True),
        converter=_strip_slash,
    )
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    source: Mapping[str, str] = attrs.field(
        factory=dict, converter=_freeze, eq=False, repr=lambda m: repr(dict(m))
    )

    def __attrs_post_init__(self) -> None:
        src = self.source
        _check_crn(self.service_crn, src)
        _check_http_url("base_url", self.base_url, src)
        if self.base_url.endswith("/v1"):
            raise ConfigurationError(
                f"{_named('base_url', src)} must not end in /v1: the client appends /v1/… "
                f"itself (use e.g. {DEFAULT_BASE_URL})"
            )
        _check_http_url("iam_url", self.iam_url, src)
        api_version: object = self.api_version
        if not isinstance(api_version, str) or not _API_VERSION_RE.fullmatch(api_version):
            raise ConfigurationError(
                f"{_named('api_version', src)} must be a date written YYYY-MM-DD "
                f"(e.g. {DEFAULT_API_VERSION})"
            )
        try:
            date.fromisoformat(self.api_version)
        except ValueError:
            raise ConfigurationError(
                f"{_named('api_version', src)} is not a valid calendar date (YYYY-MM-DD)"
            ) from None
        for name in sorted(_SECRET_SETTINGS):
            secret = getattr(self, name)
            if secret is None:
                continue
            if not isinstance(secret, str) or not secret:
                raise ConfigurationError(f"{_named(name, src)} must be a non-empty string")
            if not _HEADER_SAFE_RE.fullmatch(secret):
                raise ConfigurationError(
                    f"{_named(name, src)} contains spaces or control characters"
                )
        if self.access_token is None and self.api_key is None:
            raise ConfigurationError(_NO_CREDENTIAL)
        if not isinstance(self.timeouts, Timeouts):
            raise ConfigurationError(f"{_named('timeouts', src)} must be a Timeouts")
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigurationError(f"{_named('retry', src)} must be a RetryPolicy")
        limit: object = self.max_response_bytes
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError("max_response_bytes must be a positive int (bytes)")

    @property
    def region(self) -> str | None:
        """The region named by the CRN (``us-east``, ``eu-de``, …), or ``None``."""
        region = _crn_field(self.service_crn, 5)
        return region or None

    # -- factories --

    @classmethod
    def load(
        cls,
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        service_crn: str | None = None,
        api_version: str | None = None,
        iam_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        account: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        qiskit_accounts_file: str | os.PathLike[str] | None = None,
    ) -> ClientConfig:
        """Resolve the configuration from every source, in precedence order.

        1. the keyword arguments given here (``None`` means "not given");
        2. the environment (``environ``, default ``os.environ``);
        3. the qiskit-ibm-runtime saved account (``qiskit_accounts_file``, default
           ``~/.qiskit/qiskit-ibm.json``): the one named ``account`` (or
           ``QRUNTIME_ACCOUNT``), else the default one; a missing file is skipped;
        4. the YAML file ``config_file`` (or ``QRUNTIME_CONFIG``; both must exist), else
           ``$XDG_CONFIG_HOME/qruntime-session/config.yaml`` if it exists;
        5. defaults; the base URL follows the CRN's region unless a source set it.

        The credential (token or API key) comes from the single highest source that has one.
        Every keyword is optional; ``None`` means "not given here". The settings are the
        [`ClientConfig`][qruntime_session.ClientConfig] fields of those names, described there.

        Args:
            base_url: The ``base_url`` setting.
            access_token: The ``access_token`` setting.
            api_key: The ``api_key`` setting.
            service_crn: The ``service_crn`` setting.
            api_version: The ``api_version`` setting.
            iam_url: The ``iam_url`` setting.
            timeouts: The ``timeouts`` setting.
            retry: The ``retry`` setting.
            account: The name of the qiskit-ibm-runtime saved account to read (default:
                ``QRUNTIME_ACCOUNT``, else the account marked default).
            config_file: A YAML config file, which must exist (default: ``QRUNTIME_CONFIG``,
                else ``$XDG_CONFIG_HOME/qruntime-session/config.yaml`` when it exists).
            environ: The environment to read (default ``os.environ``).
            qiskit_accounts_file: qiskit-ibm-runtime's accounts file (default
                ``~/.qiskit/qiskit-ibm.json``; a missing file is skipped).

        Returns:
            The validated configuration, with ``source`` naming where each setting came from.

        Raises:
            ConfigurationError: The result is incomplete or malformed, or a named file or
                account does not exist or cannot be read.
        """
        env = os.environ if environ is None else environ
        explicit = _explicit_layer(
            base_url=base_url,
            access_token=access_token,
            api_key=api_key,
            service_crn=service_crn,
            api_version=api_version,
            iam_url=iam_url,
            timeouts=timeouts,
            retry=retry,
        )
        layers = [explicit, _env_layer(env)]

        if account is not None:
            account_name, account_origin = account, "account="
        elif env.get(ENV_ACCOUNT, "").strip():
            account_name, account_origin = env[ENV_ACCOUNT].strip(), f"env:{ENV_ACCOUNT}"
        else:
            account_name, account_origin = None, ""
        accounts_path = _expand(
            qiskit_accounts_file
            if qiskit_accounts_file is not None
            else "~/.qiskit/qiskit-ibm.json",
            env,
        )
        layers.append(_qiskit_layer(accounts_path, account_name, account_origin))

        if config_file is not None:
            layers.append(_yaml_layer(_expand(config_file, env), origin="config_file="))
        elif env.get(ENV_CONFIG, "").strip():
            layers.append(
                _yaml_layer(_expand(env[ENV_CONFIG].strip(), env), origin=f"env:{ENV_CONFIG}")
            )
        else:
            default_file = _default_config_file(env)
            if default_file is not None and default_file.exists():
                layers.append(_yaml_layer(default_file, origin="default location"))
        return _resolve(layers)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        service_crn: str | None = None,
        api_version: str | None = None,
        iam_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> ClientConfig:
        """Keywords, then the environment (default ``os.environ``), then defaults; no files.

        The settings are the [`ClientConfig`][qruntime_session.ClientConfig] fields of those
        names, described there.

        Args:
            environ: The environment to read (default ``os.environ``).
            base_url: The ``base_url`` setting.
            access_token: The ``access_token`` setting.
            api_key: The ``api_key`` setting.
            service_crn: The ``service_crn`` setting.
            api_version: The ``api_version`` setting.
            iam_url: The ``iam_url`` setting.
            timeouts: The ``timeouts`` setting.
            retry: The ``retry`` setting.

        Returns:
            The validated configuration.

        Raises:
            ConfigurationError: The result is incomplete or malformed.
        """
        explicit = _explicit_layer(
            base_url=base_url,
            access_token=access_token,
            api_key=api_key,
            service_crn=service_crn,
            api_version=api_version,
            iam_url=iam_url,
            timeouts=timeouts,
            retry=retry,
        )
        env = os.environ if environ is None else environ
        return _resolve([explicit, _env_layer(env)])

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        service_crn: str | None = None,
        api_version: str | None = None,
        iam_url: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> ClientConfig:
        """Keywords, then the YAML file at ``path`` (which must exist), then defaults.

        The environment is not read. The settings are the
        [`ClientConfig`][qruntime_session.ClientConfig] fields of those names, described there.

        Args:
            path: The YAML config file.
            base_url: The ``base_url`` setting.
            access_token: The ``access_token`` setting.
            api_key: The ``api_key`` setting.
            service_crn: The ``service_crn`` setting.
            api_version: The ``api_version`` setting.
            iam_url: The ``iam_url`` setting.
            timeouts: The ``timeouts`` setting.
            retry: The ``retry`` setting.

        Returns:
            The validated configuration.

        Raises:
            ConfigurationError: The file is missing, unreadable or malformed, or the result
                is incomplete.
        """
        explicit = _explicit_layer(
            base_url=base_url,
            access_token=access_token,
            api_key=api_key,
            service_crn=service_crn,
            api_version=api_version,
            iam_url=iam_url,
            timeouts=timeouts,
            retry=retry,
        )
        return _resolve([explicit, _yaml_layer(Path(os.fspath(path)), origin="path")])


# -- sources ---------------------------------------------------------------------------------


@attrs.frozen
class _Value:
    value: Any
    source: str


_Layer = dict[str, _Value]
"""One source's settings. Besides the ClientConfig field names, a layer may hold
``cloud_url`` (an IBM Cloud URL to derive the base URL from) and ``private_endpoint``."""


def _explicit_layer(**values: Any) -> _Layer:
    layer: _Layer = {}
    for name, value in values.items():
        if value is None:
            continue
        if name in _STRING_SETTINGS:
            if not isinstance(value, str):
                raise ConfigurationError(f"{name}= must be a string")
            value = value.strip()
            if not value:
                raise ConfigurationError(f"{name}= must not be empty")
        elif name == "timeouts" and not isinstance(value, Timeouts):
            raise ConfigurationError("timeouts= must be a Timeouts")
        elif name == "retry" and not isinstance(value, RetryPolicy):
            raise ConfigurationError("retry= must be a RetryPolicy")
        layer[name] = _Value(value, "explicit")
    return layer


def _env_layer(environ: Mapping[str, str]) -> _Layer:
    """Settings from environment variables; empty or blank variables count as unset."""

    def get(var: str) -> str | None:
        value = environ.get(var)
        if value is None or not value.strip():
            return None
        return value.strip()

    layer: _Layer = {}

    def take(name: str, *variables: str) -> None:
        for var in variables:
            value = get(var)
            if value is not None:
                layer[name] = _Value(value, f"env:{var}")
                return

    take("access_token", ENV_ACCESS_TOKEN)
    take("api_key", ENV_API_KEY, ENV_QISKIT_TOKEN)
    take("service_crn", ENV_QISKIT_INSTANCE)
    take("base_url", ENV_BASE_URL)
    take("cloud_url", ENV_QISKIT_URL)
    take("api_version", ENV_API_VERSION)
    take("iam_url", ENV_IAM_URL)
    return layer


def _default_config_file(environ: Mapping[str, str]) -> Path | None:
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg:
        return Path(xdg) / "qruntime-session" / "config.yaml"
    home = _home(environ)
    return None if home is None else home / ".config" / "qruntime-session" / "config.yaml"


def _yaml_layer(path: Path, *, origin: str) -> _Layer:
    """Settings from a YAML config file (see docs/configuration.md for the format)."""
    label = f"file:{path}"
    if not path.is_file():
        raise ConfigurationError(f"config file {path} (from {origin}) does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read config file {path}: {reason}") from None
    import yaml  # only a config file needs PyYAML: `import qruntime_session` stays lighter

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The YAML error's own text quotes the offending line, which may hold a secret:
        # report only the position.
        # PyYAML's problem texts are fixed phrases, safe to show.
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None)
        detail = f" ({problem})" if isinstance(problem, str) else ""
        raise ConfigurationError(
            f"config file {path} is not valid YAML{where}{detail}; "
            "quote values that contain colons, such as CRNs"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"config file {path} must be a YAML mapping of settings (key: value)"
        )
    unknown = sorted(str(key) for key in data if key not in _YAML_KEYS)
    if unknown:
        raise ConfigurationError(
            f"config file {path} has unknown keys: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_YAML_KEYS))})"
        )
    layer: _Layer = {}
    for name in _STRING_SETTINGS:
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if name == "api_version" and isinstance(value, date):
            value = value.isoformat()  # YAML reads an unquoted 2026-04-15 as a date
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{name} in config file {path} must be a non-empty string")
        layer[name] = _Value(value.strip(), label)
    if data.get("timeouts") is not None:
        layer["timeouts"] = _Value(_build(Timeouts, data["timeouts"], "timeouts", path), label)
    if data.get("retry") is not None:
        layer["retry"] = _Value(_build(RetryPolicy, data["retry"], "retry", path), label)
    return layer


def _build(cls: type[_T], raw: object, key: str, path: Path) -> _T:
    """An attrs value object from a YAML mapping of its field names."""
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{key} in config file {path} must be a mapping")
    fields = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(name) for name in raw if name not in fields)
    if unknown:
        raise ConfigurationError(
            f"{key} in config file {path} has unknown keys: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(fields))})"
        )
    for name, value in raw.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigurationError(f"{key}.{name} in config file {path} must be a number")
    try:
        return cls(**raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{key} in config file {path}: {exc}") from None


def _qiskit_layer(path: Path, name: str | None, origin: str) -> _Layer:
    """Settings from qiskit-ibm-runtime's saved accounts file.

    The file maps account names to accounts: ``channel`` (``ibm_quantum_platform`` or
    ``ibm_cloud``; the retired ``ibm_quantum`` is refused), ``token`` (an IBM Cloud API
    key), ``instance`` (the CRN), ``url`` (the IBM Cloud URL, ``https://cloud.ibm.com``),
    ``private_endpoint``, ``is_default_account`` and fields this client does not use
    (``proxies``, ``verify``, ``region``, ``plans_preference``, ``tags``).
    """
    if not path.exists():
        if name is not None:
            raise ConfigurationError(
                f"qiskit account {name!r} (from {origin}) was asked for, but {path} does not exist"
            )
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read qiskit accounts file {path}: {reason}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"qiskit accounts file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"qiskit accounts file {path} must be a JSON object of named accounts"
        )
    selected = _select_account(data, name, origin, path)
    if selected is None:
        return {}
    account_name, entry = selected
    return _account_layer(account_name, entry, path)


def _select_account(
    data: Mapping[str, Any], name: str | None, origin: str, path: Path
) -> tuple[str, Mapping[str, Any]] | None:
    """The account named ``name``, else the default account as qiskit-ibm-runtime picks it.

    Without a name: the usable account marked ``is_default_account``; else the one called
    ``default-ibm-quantum-platform``, ``default-ibm-cloud`` or ``default`` (in that order);
    else the only usable account, if there is exactly one. Accounts of the retired
    ``ibm_quantum`` channel are never picked by default.
    """
    if name is not None:
        if name not in data:
            raise ConfigurationError(
                f"qiskit account {name!r} (from {origin}) is not in {path}; "
                f"saved accounts: {', '.join(sorted(map(str, data))) or 'none'}"
            )
        entry = data[name]
        if not isinstance(entry, dict):
            raise ConfigurationError(f"qiskit account {name!r} in {path} is not a JSON object")
        return name, entry
    usable = {
        key: entry
        for key, entry in data.items()
        if isinstance(entry, dict) and entry.get("channel") in _QISKIT_CHANNELS
    }
    for key, entry in usable.items():
        if entry.get("is_default_account") is True:
            return key, entry
    for key in _QISKIT_DEFAULT_NAMES:
        if key in usable:
            return key, usable[key]
    if len(usable) == 1:
        return next(iter(usable.items()))
    return None


def _account_layer(name: str, entry: Mapping[str, Any], path: Path) -> _Layer:
    label = f"qiskit-account:{name}"
    where = f"qiskit account {name!r} in {path}"
    channel = entry.get("channel")
    if channel == _QISKIT_LEGACY_CHANNEL:
        raise ConfigurationError(
            f"{where} uses the retired 'ibm_quantum' channel (IBM Quantum Platform Classic); "
            "save an 'ibm_quantum_platform' account with an API key and an instance CRN instead"
        )
    if channel not in _QISKIT_CHANNELS:
        raise ConfigurationError(
            f"{where} has no supported channel (expected 'ibm_quantum_platform' or 'ibm_cloud')"
        )
    layer: _Layer = {}

    def text(key: str) -> str | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: {key} must be a string")
        return value.strip() or None

    token = text("token")
    if token is not None:
        layer["api_key"] = _Value(token, label)  # qiskit's "token" is an IBM Cloud API key
    instance = text("instance")
    if instance is not None:
        layer["service_crn"] = _Value(instance, label)
    url = text("url")
    private = entry.get("private_endpoint")
    if private is not None and not isinstance(private, bool):
        raise ConfigurationError(f"{where}: private_endpoint must be true or false")
    if url is not None and url.rstrip("/") != DEFAULT_CLOUD_URL:
        layer["cloud_url"] = _Value(url, label)
    if private:
        layer["private_endpoint"] = _Value(True, label)
    _log.debug("using qiskit saved account %r from %s", name, path)
    return layer


# -- resolution ------------------------------------------------------------------------------


def _first(layers: Sequence[_Layer], name: str) -> _Value | None:
    for layer in layers:
        if name in layer:
            return layer[name]
    return None


def _resolve(layers: Sequence[_Layer]) -> ClientConfig:
    values: dict[str, Any] = {}
    source: dict[str, str] = {}

    def put(name: str, item: _Value) -> None:
        values[name] = item.value
        source[name] = item.source

    # The credential is one unit: the first source that has a token or a key provides it.
    for layer in layers:
        if "access_token" in layer or "api_key" in layer:
            for name in ("access_token", "api_key"):
                if name in layer:
                    put(name, layer[name])
            break

    crn_item = _first(layers, "service_crn")
    if crn_item is None:
        if "access_token" not in values and "api_key" not in values:
            raise ConfigurationError(f"{_NO_CRN}; also {_NO_CREDENTIAL}")
        raise ConfigurationError(_NO_CRN)
    put("service_crn", crn_item)
    crn = crn_item.value
    _check_crn(crn, source)

    for layer in layers:
        if "base_url" in layer:
            put("base_url", layer["base_url"])
            break
        if "cloud_url" in layer or "private_endpoint" in layer:
            cloud = layer.get("cloud_url")
            private = "private_endpoint" in layer
            label = (cloud or layer["private_endpoint"]).source
            what = f"the IBM Cloud URL (from {cloud.source})" if cloud else "the IBM Cloud URL"
            derived = _api_base_url(
                cloud.value if cloud else DEFAULT_CLOUD_URL,
                crn,
                private=private,
                what=what,
                source=source,
            )
            put("base_url", _Value(derived, label))
            break
    else:
        derived = _api_base_url(
            DEFAULT_CLOUD_URL, crn, private=False, what="the IBM Cloud URL", source=source
        )
        put("base_url", _Value(derived, "crn-region"))

    for layer in layers:
        if "iam_url" in layer:
            put("iam_url", layer["iam_url"])
            break
        if "private_endpoint" in layer:
            private_iam = _default_iam_url(crn, private=True)
            put("iam_url", _Value(private_iam, layer["private_endpoint"].source))
            break
    else:
        iam = _default_iam_url(crn, private=False)
        put("iam_url", _Value(iam, "default" if iam == DEFAULT_IAM_URL else "crn-staging"))

    for name, default in (
        ("api_version", DEFAULT_API_VERSION),
        ("timeouts", Timeouts()),
        ("retry", RetryPolicy()),
    ):
        put(name, _first(layers, name) or _Value(default, "default"))

    return ClientConfig(**values, source=source)
