"""Building an :class:`~chatlens.humanlike.instrument_types.Instrument` from a checked instrument file.

Why apart from loading: the file's shape is checked by the one data layer
(:class:`~chatlens.datafiles.schemas.InstrumentFile`, every problem a
:class:`~chatlens.errors.DataFileError` naming the file and key); what only this package knows
is checked here, in the kind's builder: the prompt's ``{placeholders}`` are ones
:mod:`~chatlens.humanlike.prompt` can fill, and ``{dialogue}`` appears exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatlens import datafiles
from chatlens.datafiles.schemas import InstrumentFile
from chatlens.errors import DataFileError
from chatlens.humanlike.instrument_types import Group, Instrument, Item, RoleWording, Scale
from chatlens.humanlike.prompt import PLACEHOLDER_RE, PLACEHOLDERS

__all__ = ["instrument_from_dict", "instrument_from_document"]


def instrument_from_document(doc: InstrumentFile, file: str) -> Instrument:
    """The :class:`Instrument` of a schema-checked file (the data layer's builder for ``instrument``).

    Raises
    ------
    DataFileError
        A prompt message uses an unknown placeholder, or ``{dialogue}`` is not there exactly once.
    """
    n_dialogue = 0
    for j, m in enumerate(doc.prompt.messages):
        names = PLACEHOLDER_RE.findall(m.content)
        bad = sorted(set(names) - PLACEHOLDERS)
        if bad:
            raise DataFileError(file, f"prompt.messages[{j}].content",
                                f"only the placeholders {sorted(PLACEHOLDERS)}", bad)
        n_dialogue += names.count("dialogue")
    if n_dialogue != 1:
        raise DataFileError(file, "prompt.messages", "{dialogue} exactly once in the prompt", n_dialogue)
    source = doc.source if isinstance(doc.source, Mapping) else {"citation": str(doc.source)}
    roles = doc.roles
    return Instrument(
        name=doc.name, version=str(doc.version), description=doc.description, source=dict(source),
        scale=Scale(doc.scale.min, doc.scale.max, tuple(sorted(doc.scale.anchors.items()))),
        items=tuple(Item(str(i.key).strip(), i.statement.strip(), i.weight, i.reverse, i.group) for i in doc.items),
        bias=doc.scoring.bias,
        roles={label: RoleWording(r.speaker, r.other) for label, r in roles.labels.items()},
        default_role=roles.default,
        messages=tuple((m.role, m.content) for m in doc.prompt.messages),
        output_root_key=doc.output.root_key, output_grouped=doc.output.grouped,
        groups=tuple(Group(g.key, g.title) for g in doc.groups), clean=doc.prompt.clean,
        key_space=doc.key_space or doc.name, path=file,
    )


def instrument_from_dict(data: Mapping[str, Any], where: str = "<dict>") -> Instrument:
    """Validate a parsed instrument mapping (``extends:`` resolved first) into an :class:`Instrument`."""
    return instrument_from_document(datafiles.parse(dict(data), kind="instrument", file=where), where)
