"""Stage 2, decide: a Report -> a Result over every loaded pack: clues evaluated, diagnoses ranked and explained.

No input or output format is known here: a Report comes in, a Result goes out.
"""

from plugin.decide.differential import DEFAULT_MAX_DIFFERENTIAL, decide

__all__ = ["DEFAULT_MAX_DIFFERENTIAL", "decide"]
