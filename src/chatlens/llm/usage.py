"""Token and cost accounting for one client: what was sent, what the cache saved, what failed.

Counters live in a mutable :class:`UsageMeter` owned by the client (one event loop, so no locks);
:meth:`UsageMeter.report` freezes them into a :class:`UsageReport` for summaries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chatlens.llm.prices import Price


@dataclass(frozen=True)
class UsageReport:
    """Totals of one client's life.

    ``prompt_tokens``/``completion_tokens``/``cost_usd`` count only requests actually sent (cache
    hits are free); ``cost_usd`` is ``None`` when the model has no price in the table.
    """

    model: str
    requests: int
    cache_hits: int
    retries: int
    reasks: int
    failures: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    price_per_1m: dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class UsageMeter:
    """Mutable counters updated by the client as requests complete."""

    def __init__(self, model: str, price: Price | None) -> None:
        self.model = model
        self.price = price
        self.requests = 0
        self.cache_hits = 0
        self.retries = 0
        self.reasks = 0
        self.failures = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def add_response(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.requests += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def report(self) -> UsageReport:
        cost = (
            None
            if self.price is None
            else self.price.cost(self.prompt_tokens, self.completion_tokens)
        )
        return UsageReport(
            model=self.model,
            requests=self.requests,
            cache_hits=self.cache_hits,
            retries=self.retries,
            reasks=self.reasks,
            failures=self.failures,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=cost,
            price_per_1m=None
            if self.price is None
            else {"input": self.price.input, "output": self.price.output},
        )
