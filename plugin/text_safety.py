"""Request text made fit for the FHIR datatype it is written into.

A note or a display comes from the sender and ends up in a receiver's user interface. What is safe depends on the
target type, so there is one function per type:

* `string(text)`  for FHIR `string` (Coding.display, CodeableConcept.text, OperationOutcome.issue.expression): matches
  the R4 regular expression `[ \\r\\n\\t\\S]+` as ECMA-262 reads it (its `\\S` excludes U+00A0, U+FEFF, U+2028 ...);
* `markdown(text)` for FHIR `markdown` (Annotation.text): additionally renders as exactly the plain text it was.

Both drop what no reader should receive: control characters (C0 but tab and line breaks, DEL, C1) and the bidirectional
formatting characters that can make text read differently from what it says (Trojan Source, CVE-2021-42574). XHTML
narrative is built with `html.escape` in plugin/narrative.py and holds no request text.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Removed outright: C0 controls but \t \n \r, DEL and C1; the bidi embeddings, overrides, isolates and marks; the BOM.
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# ECMA-262 white space that R4's `[ \r\n\t\S]` does not admit: becomes a plain space, or a line break for LS and PS.
_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LINE = re.compile("\r\n?|[\u2028\u2029]")
# CommonMark: any ASCII punctuation character may be backslash-escaped, and is then a literal character.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


# Pure functions of the text, and most texts are the packs' own (statements, displays) repeated in every answer:
# a bounded cache of their results (text lengths are bounded by the findings schema).
@lru_cache(maxsize=4096)
def string(text: str) -> str | None:
    """The text as a valid FHIR string (None when nothing printable is left: the element is then left out)."""
    cleaned = _SPACE.sub(" ", _LINE.sub("\n", _DROP.sub("", text))).strip()
    return cleaned or None


@lru_cache(maxsize=4096)
def markdown(text: str) -> str | None:
    """The text as FHIR markdown that renders as the same plain text: no HTML, link, image, emphasis or code block.

    Every ASCII punctuation mark is escaped (so `<`, `[`, `!`, `*`, `` ` ``, `&`, `#` ... stay literal), each line is
    trimmed (leading spaces would start a code block, two trailing spaces a hard break), and runs of blank lines become
    one paragraph break.
    """
    cleaned = string(text)
    if cleaned is None:
        return None
    lines = [_PUNCTUATION.sub(r"\\\1", line.strip()) for line in cleaned.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() or None
