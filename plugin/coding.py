"""Stage 4b: the codes of a diagnosis for this report: ICD-10-CM leaves built from the index lesion's site and laterality.

The index lesion = the present findings of the concepts that put the report in the pack's scope.
"""

from __future__ import annotations

from plugin.model import Coding, Report
from plugin.pack_model import Diagnosis, Pack

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def codes_for(dx: Diagnosis, pack: Pack, report: Report) -> tuple[Coding, ...]:
    rule = dx.site_codes
    if rule is None:
        return dx.codes
    index = [f for c in pack.scope_concepts for f in report.by_concept.get(c, ()) if f.present and f.kind == "finding" and f.site]
    if not index:
        return dx.codes
    prefixes = {rule.by_site.get(f.site or "") or ("other" if f.site in rule.other_sites else "") for f in index}
    lateralities = {f.laterality for f in index}
    code: str | None
    if "" in prefixes:  # a site the template does not cover: the category code stays
        code = None
    elif len(prefixes) > 1 or "bilateral" in lateralities:
        code = rule.multiple_sites
    elif prefixes == {"other"}:
        code = rule.other_site
    else:
        side = next(iter(lateralities)) if len(lateralities) == 1 else None
        code = prefixes.pop() + rule.laterality.get(side or "unspecified", rule.laterality["unspecified"])
    if code is None or code not in rule.displays:
        return dx.codes
    leaf = Coding(ICD10CM, code, rule.displays[code])
    return tuple(leaf if c.system == ICD10CM else c for c in dx.codes)
