"""The one retry policy for LLM requests, built on tenacity.

Retried: errors a transport marks ``retryable`` (429, 5xx, 408/409, timeouts, dropped
connections). Not retried: everything else (bad request, auth, unknown model), which fails at
once. Waits grow exponentially with jitter so that many workers hitting one rate limit do not
retry in lockstep; a server's ``Retry-After`` wins when it asks for longer (capped at
``backoff_max_s`` so one odd header cannot stall a job for an hour).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from chatlens.llm.config import LLMConfig


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt should be tried again."""
    return bool(getattr(exc, "retryable", False))


def backoff_wait(config: LLMConfig) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, honouring ``Retry-After`` (capped)."""

    def wait(state: RetryCallState) -> float:
        n = state.attempt_number - 1
        base = config.backoff_initial_s * (2**n) + random.uniform(0, config.backoff_initial_s)
        exc = state.outcome.exception() if state.outcome is not None else None
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            base = max(base, float(hinted))
        return min(base, config.backoff_max_s)

    return wait


def retrying(
    config: LLMConfig, on_retry: Callable[[RetryCallState], None] | None = None
) -> AsyncRetrying:
    """An ``AsyncRetrying`` for one request: ``max_retries`` retries after the first attempt."""
    return AsyncRetrying(
        stop=stop_after_attempt(config.max_retries + 1),
        wait=backoff_wait(config),
        retry=retry_if_exception(is_retryable),
        before_sleep=on_retry,
        reraise=True,
    )
