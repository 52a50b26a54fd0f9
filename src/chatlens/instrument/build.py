"""Step 6: the condensed items become an instrument file in the schema of HAL16Q/HAL32Q.

The file is complete on its own (no ``extends:``): items with their theme, the scale, the role
wording and the judge prompt from ``instrument/defaults.yaml``, and a provenance block saying
which data (fingerprint), which models and which parameters produced it. It has no weights yet
(``scoring.bias`` unset): ``chatlens humanlike judge`` rates with it as it is, and
``chatlens instrument fit`` / ``humanlike fit`` turn ratings of labelled dialogues into weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chatlens.datafiles.schemas.instrument import InstrumentTemplate
from chatlens.humanlike.instruments import Instrument, instrument_from_dict

__all__ = ["instrument_document", "write_instrument"]


def instrument_document(
    items: dict[str, Any],
    template: InstrumentTemplate,
    *,
    name: str,
    target: str,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The instrument as a YAML-ready mapping (checked by loading it before it is returned)."""
    from chatlens import __version__

    roles = template.roles
    doc: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "description": (
            f"{len(items['items'])} statements discovered by chatlens {__version__} "
            f"(`chatlens instrument discover`) for the property: {target}. "
            "Unweighted until fitted on rated, labelled dialogues."
        ),
        "source": {
            "citation": f"discovered with chatlens {__version__} (chatlens instrument discover)",
            "provenance": provenance,
        },
        "scale": {
            "min": template.scale.min,
            "max": template.scale.max,
            "anchors": dict(template.scale.anchors),
        },
        "roles": {
            "default": roles.default,
            "labels": {
                k: {"speaker": r.speaker, "other": r.other} for k, r in roles.labels.items()
            },
        },
        "output": {"root_key": template.output_root_key, "grouped": False},
        "groups": [{"key": t["key"], "title": t["title"]} for t in items["themes"]],
        "prompt": {
            "clean": True,
            "messages": [{"role": m.role, "content": m.content} for m in template.messages],
        },
        "items": [
            {"key": i["key"], "statement": i["statement"], "group": i["theme"]}
            for i in items["items"]
        ],
    }
    instrument_from_dict(doc, f"<discovered instrument {name}>")
    return doc


def write_instrument(doc: dict[str, Any], path: Path) -> Instrument:
    """Write the YAML (deterministic: key order kept, UTF-8) and load it back through the data layer."""
    from chatlens.humanlike.instruments import load_instrument

    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return load_instrument(path)
