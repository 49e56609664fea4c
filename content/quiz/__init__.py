"""The quiz bank: fewer and better questions, each one an editor would print.

`QuizBuilder` builds a speech's bank. It is read from the bottom up: `reading` (what the quiz knows of the
speech, and the checks every question passes), `options` (wrong options), `clozes`, `which_part` and `lists`
(the candidates: clozes and what-comes-next, which part, 不包括哪一项 of a list or a paragraph's points),
`selection` (the questions chosen so far and the rules between them), `bank` (the choice: every lesson and
part first, then the best, which-part within a third); `shapes` and `question` hold the pure helpers and the
data.
"""

from content.quiz.bank import QuizBuilder
from content.quiz.question import BLANK, EXPLANATION_MAX, OPTION_MAX, QUESTION_MAX, Question
from content.quiz.shapes import fits_pattern, pattern_of

__all__ = [
    "BLANK",
    "EXPLANATION_MAX",
    "OPTION_MAX",
    "QUESTION_MAX",
    "Question",
    "QuizBuilder",
    "fits_pattern",
    "pattern_of",
]
