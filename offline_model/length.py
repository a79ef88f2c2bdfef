"""How long an answer should be: the target a block without one gets, and the band aimed at.

The drafter, the editor and the reviser all measure against the same target and tolerance; one
place for them keeps a draft the reviser lengthened from being sent back by the editor.
"""

from __future__ import annotations

from agent.brief import LENGTH_TOLERANCE

DEFAULT_TARGET_WORDS = 600  # for a block that carries no target_words
# The editor's tolerance on length; the review prompt tells a model the same.
# Aims inside three quarters of the band an article counts as on length, so it lands there.
AIM = LENGTH_TOLERANCE * 0.75
