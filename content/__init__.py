"""Content engine: a speech parsed into sections, lessons with prompts, a quiz bank and a search index.

Pure text processing: no chat platform, no database. jieba loads on first use, not on import.
"""

from content.model import ContentError, ContentModel, build_model, bundled_text, load_model, read_text
from content.numerals import cn_to_int, int_to_cn, parse_ref
from content.speech import EmptySpeechError, Section, Sentence, Speech, parse_speech, split_sentences

__all__ = [
    "ContentError",
    "ContentModel",
    "EmptySpeechError",
    "Section",
    "Sentence",
    "Speech",
    "build_model",
    "bundled_text",
    "cn_to_int",
    "int_to_cn",
    "load_model",
    "parse_ref",
    "parse_speech",
    "read_text",
    "split_sentences",
]
