"""Reflection prompts (思考题): a phrase worth thinking about from each lesson, in the form its kind asks for.

`PromptMaker` (maker.py) chooses them; `kinds` says what kind a phrase is, `forms` how each kind is asked,
`phrases` where a passage's phrase comes from.
"""

from content.prompts.forms import FORM_NAMES, FORMS, audience_of
from content.prompts.kinds import GENERIC, kind_of, list_kind
from content.prompts.maker import PromptMaker

__all__ = ["FORMS", "FORM_NAMES", "GENERIC", "PromptMaker", "audience_of", "kind_of", "list_kind"]
