"""The model chains of each role: configured providers, then `local`, each a `ResilientModel`.

`model_chain(role, behaviour)` builds the role's chain from settings as a
pydantic-ai `FallbackModel` that always ends in `local`; a provider without
credentials is skipped. Build one per run: SDK clients hold connections bound
to the event loop they were made on (`chain_close` closes them).
"""

from __future__ import annotations

import logging
import os
import ssl
from functools import cache
from typing import Any

from django.conf import settings
from pydantic_ai.models import Model
from pydantic_ai.models.fallback import FallbackModel

from apps.agents.breaker import CircuitBreaker
from apps.agents.local import local_model
from apps.agents.resilience import ResilientModel, RetryPolicy

logger = logging.getLogger(__name__)


# -- building chains ------------------------------------------------------------
ROLES = ("router", "agent", "summary", "judge")


def configured_chain(role: str) -> list[str]:
    """The model names for `role` in order, unavailable providers dropped, always ending in local."""
    if role not in ROLES:
        raise ValueError(f"unknown model role {role!r}")
    primary = getattr(settings, f"SWITCHBOARD_{role.upper()}_MODEL")
    fallbacks = getattr(settings, f"SWITCHBOARD_{role.upper()}_FALLBACKS")
    names: list[str] = []
    for name in [primary, *fallbacks]:
        name = name.strip()
        if name and name not in names and (name == "local" or provider_available(name)):
            names.append(name)
    if "local" in names:
        names = names[: names.index("local")]
    return [*names, "local"]


def provider_available(name: str) -> bool:
    provider, _, model = name.partition(":")
    if not model:
        logger.warning("ignoring model %r: expected 'provider:model' or 'local'", name)
        return False
    if provider == "openai":
        return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)
    if provider == "anthropic":
        return bool(settings.ANTHROPIC_API_KEY)
    logger.warning("ignoring model %r: unknown provider %r", name, provider)
    return False


def breaker_key(provider: str) -> str:
    """One breaker per provider endpoint: a self-hosted server is not api.openai.com."""
    base = settings.OPENAI_BASE_URL if provider == "openai" else settings.ANTHROPIC_BASE_URL
    if not base:
        return provider
    from urllib.parse import urlsplit

    return f"{provider}@{urlsplit(base).netloc}"


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building it (loading the CA bundle) costs ~100 ms, a client then ~0.1 ms."""
    import certifi

    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or certifi.where())


def _http_client(timeout: float) -> Any:
    """A fresh HTTP client per turn (its connections belong to the turn's event loop), sharing the TLS context."""
    import httpx2

    return httpx2.AsyncClient(
        verify=_ssl_context(),
        timeout=timeout,
        follow_redirects=True,
        limits=httpx2.Limits(max_connections=20, max_keepalive_connections=10),
    )


def concrete_model(name: str, *, timeout: float) -> tuple[Model, Any]:
    """A pydantic-ai model for a configured name and its SDK client (ours to close), SDK retries off."""
    provider, _, model_name = name.partition(":")
    if provider == "openai":
        from openai import AsyncOpenAI
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        client = AsyncOpenAI(
            api_key=settings.OPENAI_API_KEY or "not-needed",
            base_url=settings.OPENAI_BASE_URL or None,
            max_retries=0,
            timeout=timeout,
            http_client=_http_client(timeout),
        )
        return OpenAIChatModel(model_name, provider=OpenAIProvider(openai_client=client)), client
    if provider == "anthropic":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        client = AsyncAnthropic(
            api_key=settings.ANTHROPIC_API_KEY,
            base_url=settings.ANTHROPIC_BASE_URL or None,
            max_retries=0,
            timeout=timeout,
            http_client=_http_client(timeout),
        )
        return AnthropicModel(model_name, provider=AnthropicProvider(anthropic_client=client)), client
    raise ValueError(f"unknown provider in model name {name!r}")


def model_chain(role: str, behaviour: Any, *, names: list[str] | None = None) -> Model:
    """The fallback chain for `role`: configured models, then the local model running `behaviour`.

    Build one per turn: SDK clients hold connections bound to the event loop they were made on.
    """
    timeout = settings.SWITCHBOARD_MODEL_TIMEOUT
    policy = RetryPolicy.from_settings()
    members: list[Model] = []
    for position, name in enumerate(names or configured_chain(role)):
        if name == "local":
            members.append(
                ResilientModel(
                    local_model(behaviour),
                    configured_name="local",
                    provider="local",
                    position=position,
                    timeout=timeout,
                    policy=RetryPolicy(max_retries=0, base_delay=0, max_delay=0),
                    breaker=None,
                    role=role,
                )
            )
            break
        provider = name.partition(":")[0]
        concrete, client = concrete_model(name, timeout=timeout)
        members.append(
            ResilientModel(
                concrete,
                client=client,
                role=role,
                configured_name=name,
                provider=breaker_key(provider),
                position=position,
                timeout=timeout,
                policy=policy,
                breaker=CircuitBreaker.for_provider(breaker_key(provider)),
            )
        )
    if len(members) == 1:
        return members[0]
    return FallbackModel(*members)


async def chain_close(model: Model) -> None:
    """Close the SDK clients of a chain (their connections belong to the event loop that is ending)."""
    members = model.models if isinstance(model, FallbackModel) else [model]
    for member in members:
        client = getattr(member, "client", None)
        if client is not None:
            await client.close()
