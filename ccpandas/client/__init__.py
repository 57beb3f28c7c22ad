"""The HTTP layer: one ``Client`` per application, its retries, rate limit and quota.

Never imports ``ccpandas.auth`` or ``ccpandas.run``: a client is handed its token (or a
provider of one) by whoever builds it. ``ccpandas.client`` keeps every name it had as a
single module.

Example:
    >>> from ccpandas.client import Client
    >>> Client(token="t", base_url="http://127.0.0.1:9/v3").base_url
    'http://127.0.0.1:9/v3'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.client.http import (
        BASE_URL_ENV,
        DEFAULT_BASE_URL,
        TOKEN_ENV,
        Client,
        ClientStats,
        EnvToken,
        StaticToken,
        TokenProvider,
        default_client,
        is_loopback_host,
        normalize_base_url,
        resolve_base_url,
        set_default_client,
    )
    from ccpandas.client.quota import (
        DAILY_QUOTA,
        QUOTA_FILE,
        DayCounter,
        QuotaUsage,
        used_today,
    )
    from ccpandas.client.ratelimit import (
        DEFAULT_MARGIN,
        RateLimiter,
        SharedRateLimiter,
    )
    from ccpandas.client.retry import (
        RETRYABLE_STATUSES,
        RetryBudget,
        RetryDecision,
        RetryKind,
        RetryPolicy,
        backoff_delay,
        classify,
        should_retry,
    )
    from ccpandas.client.shared import (
        BudgetKey,
        SharedState,
        configure,
    )
    from ccpandas.client.transport import map_transport_error
    from ccpandas.client.urls import (
        secure_url,
    )

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "map_transport_error": "ccpandas.client.transport",
    "resolve_base_url": "ccpandas.client.http",
    "RetryDecision": "ccpandas.client.retry",
    "RetryBudget": "ccpandas.client.retry",
    "BASE_URL_ENV": "ccpandas.client.http",
    "BudgetKey": "ccpandas.client.shared",
    "DAILY_QUOTA": "ccpandas.client.quota",
    "QuotaUsage": "ccpandas.client.quota",
    "SharedRateLimiter": "ccpandas.client.ratelimit",
    "SharedState": "ccpandas.client.shared",
    "configure": "ccpandas.client.shared",
    "Client": "ccpandas.client.http",
    "ClientStats": "ccpandas.client.http",
    "DEFAULT_BASE_URL": "ccpandas.client.http",
    "DEFAULT_MARGIN": "ccpandas.client.ratelimit",
    "DayCounter": "ccpandas.client.quota",
    "EnvToken": "ccpandas.client.http",
    "QUOTA_FILE": "ccpandas.client.quota",
    "RETRYABLE_STATUSES": "ccpandas.client.retry",
    "RateLimiter": "ccpandas.client.ratelimit",
    "RetryKind": "ccpandas.client.retry",
    "RetryPolicy": "ccpandas.client.retry",
    "StaticToken": "ccpandas.client.http",
    "TOKEN_ENV": "ccpandas.client.http",
    "TokenProvider": "ccpandas.client.http",
    "backoff_delay": "ccpandas.client.retry",
    "classify": "ccpandas.client.retry",
    "default_client": "ccpandas.client.http",
    "is_loopback_host": "ccpandas.client.http",
    "normalize_base_url": "ccpandas.client.http",
    "secure_url": "ccpandas.client.urls",
    "set_default_client": "ccpandas.client.http",
    "should_retry": "ccpandas.client.retry",
    "used_today": "ccpandas.client.quota",
}

__all__ = [
    "BASE_URL_ENV",
    "DAILY_QUOTA",
    "DEFAULT_BASE_URL",
    "DEFAULT_MARGIN",
    "QUOTA_FILE",
    "RETRYABLE_STATUSES",
    "TOKEN_ENV",
    "BudgetKey",
    "Client",
    "ClientStats",
    "DayCounter",
    "EnvToken",
    "QuotaUsage",
    "RateLimiter",
    "RetryBudget",
    "RetryDecision",
    "RetryKind",
    "RetryPolicy",
    "SharedRateLimiter",
    "SharedState",
    "StaticToken",
    "TokenProvider",
    "backoff_delay",
    "classify",
    "configure",
    "default_client",
    "is_loopback_host",
    "map_transport_error",
    "normalize_base_url",
    "resolve_base_url",
    "secure_url",
    "set_default_client",
    "should_retry",
    "used_today",
]

__getattr__, __dir__ = _env.attach("ccpandas.client", _LAZY, globals(), __all__)
