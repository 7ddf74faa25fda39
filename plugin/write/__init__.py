"""Stage 3, write: a Result -> one output form. One registry, used alike by the engine, the HTTP routes and the CLI.

Adding a form = one module with a function (Result, Stamp) -> JSON object, plus one entry in WRITERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.model import Result
from plugin.write.fhir_exchange import build_message, build_transaction
from plugin.write.fhir_r4 import build_bundle, build_contained
from plugin.write.fhir_r5 import to_r5

FHIR_R4 = "application/fhir+json; fhirVersion=4.0"


@dataclass(frozen=True, slots=True)
class Stamp:
    """What makes two runs over the same report differ: resource ids and the time. Injected, so tests can pin them."""

    new_id: Callable[[], str]
    now: datetime
    endpoint: str = "http://127.0.0.1:8000"  # the service's public URL (DDX_PUBLIC_URL): a message's source.endpoint


@dataclass(frozen=True, slots=True)
class Writer:
    name: str
    description: str
    media_type: str
    write: Callable[[Result, Stamp], dict[str, Any]]


WRITERS: dict[str, Writer] = {
    w.name: w for w in (
        Writer("bundle", "a FHIR R4 Bundle of type collection", FHIR_R4, lambda r, s: build_bundle(r, s.new_id, s.now)),
        Writer("contained", "one FHIR R4 DiagnosticReport with everything else contained", FHIR_R4,
               lambda r, s: build_contained(r, s.new_id, s.now)),
        Writer("message", "a FHIR R4 Bundle of type message (MessageHeader first, focus: the DiagnosticReport)", FHIR_R4,
               lambda r, s: build_message(r, s.new_id, s.now, s.endpoint)),
        Writer("transaction", "a FHIR R4 Bundle of type transaction (PUT with ids derived from the report's identity)", FHIR_R4,
               lambda r, s: build_transaction(r, s.new_id, s.now)),
    )
}
DEFAULT_SHAPE = "bundle"


FHIR_VERSIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"4.0": lambda out: out, "5.0": to_r5}


def write(result: Result, shape: str, stamp: Stamp, fhir_version: str = "4.0") -> dict[str, Any]:
    """The Result in the named form and FHIR version; shape and version are keys of WRITERS and FHIR_VERSIONS."""
    return FHIR_VERSIONS[fhir_version](WRITERS[shape].write(result, stamp))
