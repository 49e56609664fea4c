"""Reflection prompts (思考题): a phrase worth thinking about from each lesson, in the form its kind asks for.

`PromptMaker` (maker.py) chooses them, among the phrases `candidates` finds in a passage and scores;
`kinds` says what kind a phrase is, `forms` how each kind is asked and of whom, `phrases` the patterns and
helpers a passage's phrases are read with.
"""

from content.prompts.forms import FORM_NAMES, FORMS, audience_of
from content.prompts.kinds import GENERIC, kind_of, list_kind
from content.prompts.maker import PromptMaker

__all__ = ["FORMS", "FORM_NAMES", "GENERIC", "PromptMaker", "audience_of", "kind_of", "list_kind"]
