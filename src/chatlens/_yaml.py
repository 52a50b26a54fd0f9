"""YAML loading for bundled and user data files, through libyaml when PyYAML has it.

Why: every lexicon, questionnaire, price table and definition file is YAML, and PyYAML's pure
Python loader makes loading the refusal lexicons alone take ~0.2 s per process (every CLI call,
every engine worker). The C loader reads the same safe subset several times faster; without
libyaml the pure Python ``SafeLoader`` gives the same result.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load`` with the C loader when available (same types, same errors)."""
    return yaml.load(text, Loader=_LOADER)
