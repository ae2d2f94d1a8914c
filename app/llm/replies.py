"""What a model's reply to a mode is made of, and whether it is a rewrite of what was said.

The runner (:mod:`app.llm.runner`) asks the model; here the reply is taken apart from what
models wrap around a rewrite (a label, a lead-in, a fence, quotes, a thinking model's
reasoning, a note on its own edit, a closing offer: :func:`clean_reply`, :func:`strip_thinking`,
:func:`trim_chatter`), and checked against the dictated text (:func:`sanity_problem`): a reply
that is empty, far longer or shorter, answers the text or a question in it, chats back, says
a sentence twice, keeps too few of the words said, or turns a "not" round is no rewrite, and
the mode falls back to the text. Each problem is said by the rule it breaks, never by the
reply's words: it is a fallback reason, which the log keeps.
"""

from __future__ import annotations

import re

from app.llm.modes import PLACEHOLDER, Mode, frame, marker_digest

_SHINGLE = 5  # words in a row that count as repeating the instructions
# Sounds a speaker makes that are no words of the text (see _repeats).
_FILLERS = frozenset(["uh", "um", "umm", "uhm", "hmm", "erm", "er", "ah", "eh", "mm"])
# Words a rewrite may drop or change freely: fillers, and small words of no content
# (see _kept_words).
_UNCOUNTED = _FILLERS | frozenset(
    """like you know yeah okay well just actually basically really kind sort
    the and but for with that this these those then than there their they them are was were
    has have had not you your our its it's i'm we're don't can't what when where which who how
    from into about some any all""".split()  # noqa: SIM905 - a word list reads best as words
)
# Openings that answer or refuse the text instead of rewriting it.
_ANSWERING = re.compile(
    r"^\W*(sure\b|certainly\b|of course\b|absolutely\b|here\s+is\b|here's\b|here\s+are\b|"
    r"i\s+can(?:no|')t\b|i\s+cannot\b|i\s+am\s+(?:unable|not able|sorry)\b|i'm\s+(?:unable|not able|sorry)\b|"
    r"sorry\b|as\s+an\s+ai\b|i\s+won't\b|i\s+will\s+not\b|ok(?:ay)?,?\s+here(?:'s|\s+is|\s+are)?\b)",
    re.IGNORECASE,
)
# Openings that answer a question (the text's), which a rewrite of it never starts with unless
# the speaker did: "Yes, we can ship on Friday.", "You can install NumPy with pip.", "To
# install NumPy, run...".
_ANSWER = re.compile(
    r"^\W*(yes|yeah|yep|yup|no|nope|"
    r"you(?:'ll|'d|\s+(?:can|could|should|need|must|will|would|may|might|have\s+to|just))|"
    r"to\s+\w+|the\s+answer\s+is|it\s+depends)\b",
    re.IGNORECASE,
)
# The words a dictated question may start with (after fillers; without a "?" in the text).
_ASKING = frozenset(
    """can could would will should shall do does did is are was were am how what what's why when
    where which who whom whose have has may might must isn't aren't wasn't weren't don't doesn't
    didn't can't couldn't won't wouldn't shouldn't haven't hasn't""".split()  # noqa: SIM905
)
# A question's first word; a verb that asks when its subject follows it ("is the build green",
# "can you"), of which some also give orders ("do it now", "have Sam check it"): those ask
# only before a pronoun.
_QUESTION_WORDS = frozenset("how what what's why when where which who whom whose".split())  # noqa: SIM905
_ASKING_VERBS = frozenset(
    """can could would will should shall do does did is are was were am have has may might must
    isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't
    haven't hasn't""".split()  # noqa: SIM905
)
_ORDERING_VERBS = frozenset({"do", "does", "did", "have", "has", "don't", "will", "would"})
_SUBJECTS = frozenset("i you we they he she it there anyone someone everyone anybody somebody".split())  # noqa: SIM905
_DETERMINERS = frozenset("the this that these those my your our his her their its a an".split())  # noqa: SIM905
# Words that turn what is said into its opposite (and "n't" at a word's end).
_NEGATIONS = frozenset({"not", "never", "no", "cannot", "nothing", "nobody", "none", "neither", "nor"})
# Sounds a speaker starts a sentence or clause with, which a rewrite drops.
_LEADING_FILLERS = _FILLERS | frozenset(
    ["oh", "so", "well", "okay", "ok", "like", "hey", "right", "alright", "basically", "actually"]
)
_CLAUSE = re.compile(r"[.!?,;:\n]+")
# A label a model puts before its rewrite ("Cleaned text:", "**Corrected version:**").
_LABEL = re.compile(
    r"^[\W_]{0,3}((?:the\s+)?(?:(?:cleaned|corrected|rewritten|revised|edited|polished|fixed|final|"
    r"formatted|tidied|improved)(?:[\s-]+up)?\s+)?(?:text|version|transcript|transcription|dictation|"
    r"output|result|rewrite|(?:commit\s+|chat\s+)?message|e-?mail(?:\s+body)?|list))[*_]{0,2}\s*:[*_]{0,2}"
    r"[ \t]*\n?\s*",
    re.IGNORECASE,
)
# A sentence a chat model ends its reply with, offering more ("Let me know if you need changes.").
_OFFER = re.compile(
    r"^\W*(?:let\s+me\s+know\b|please\s+let\s+me\s+know\b|i\s+hope\s+(?:this|that)\s+helps|"
    r"hope\s+(?:this|that)\s+helps|feel\s+free\s+to\b|if\s+you\s+(?:need|want|would\s+like|'d\s+like)\b|"
    r"would\s+you\s+like\b|do\s+you\s+want\s+me\s+to\b|is\s+there\s+anything\s+else\b|"
    r"happy\s+to\s+help\b|i\s+can\s+also\b|shall\s+i\b)",
    re.IGNORECASE,
)
# ...about the rewrite itself: "Let me know if you have any questions." ends many an email.
_ABOUT_ITSELF = re.compile(
    r"\b(?:helps?|changes?|adjust\w*|edits?|modif\w*|tweak\w*|anything\s+else|further|me\s+to|"
    r"more\s+(?:formal|casual|concise)|another\s+version|revis\w*|rephras\w*|rewrit\w*)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*[\"')\]]*")
# The reasoning a local "thinking" model (Qwen3, DeepSeek-R1 through Ollama or llama.cpp) puts
# before its answer: opened by a tag, or with the opening tag in the chat template (only the
# closing one in the reply); one left open is all reasoning (cut off at the length limit).
_THINK_OPEN = re.compile(r"\s*<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>\s*", re.IGNORECASE)
# A chat model's lead-in line before the rewrite ("Sure! Here is the cleaned-up text:").
_LEAD_IN = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|okay|ok|absolutely)\b[!,.]*\s*)?"
    r"(here(?:['\u2019]s|\s+is|\s+are)\b[^\n:]{0,80}):[*_]{0,2}"
    r"(?:[ \t]*\n\s*|[ \t]+(?=[\"\u201c][^\n]*[\"\u201d]$))",  # a new line, or one quotation after it
    re.IGNORECASE,
)
_MARKER_LINE = re.compile(r"^\s*<<<(?:END-)?(?:TRANSCRIPT|DIFF)(?:-[0-9a-f]{12})?>>>\s*$", re.MULTILINE)
# The tokens a chat template puts around a turn, which a model served without its template
# writes out ("<end_of_turn>", "<|im_end|>", "</s>").
_TURN_TOKEN = re.compile(
    r"<(?:start_of_turn|end_of_turn|eos|bos)>(?:model|user)?|<\|[a-z_]+\|>(?:assistant|user)?|</s>"
)
# A note a model adds about its own edit: "(Note: I removed the filler words.)".
_OWN_NOTE = re.compile(
    r"\n?[ \t]*\((?:note\b|changes?\s*:|edits?\s*:|"
    r"i\s+(?:have\s+|'ve\s+)?(?:removed|fixed|corrected|cleaned|changed|kept|added|edited)\b)[^()]*\)\s*$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```$", re.DOTALL)


def _quoted(text: str) -> bool:
    """Whether ``text`` is one quotation: a quote mark at each end, and no other."""
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2


def clean_reply(reply: str, source: str = "") -> str:
    """Strip what models wrap around a rewrite: code fences, echoed markers, outer quotes (not
    those of a ``source`` that is itself one quotation: the speaker's own).

    >>> clean_reply('"We ship today."', "we ship today"), clean_reply('"To be."', '"to be"')
    ('We ship today.', '"To be."')
    """
    text = strip_fence(_TURN_TOKEN.sub("", reply).strip())
    text = _MARKER_LINE.sub("", text).strip()
    if _quoted(text) and not _quoted(source.strip()):
        text = text[1:-1].strip()
    if text.startswith("**") and text.endswith("**") and text.count("**") == 2 and "**" not in source:
        text = text[2:-2].strip()  # the whole rewrite in bold: Markdown, pasted as asterisks
    return text


def strip_thinking(reply: str) -> str:
    r"""``reply`` without the reasoning a thinking model writes before its answer.

    >>> strip_thinking("<think>The user wants it tidied.</think>\n\nWe ship today.")
    'We ship today.'
    >>> strip_thinking("Okay, the user wants it tidied.\n</think>\n\nWe ship today.")
    'We ship today.'
    >>> strip_thinking("<think>Let me see, the user said"), strip_thinking("We <think> today")
    ('', 'We <think> today')
    """
    opened = _THINK_OPEN.match(reply)
    closed = _THINK_CLOSE.search(reply)
    if closed is not None and (opened or not _THINK_OPEN.search(reply, 0, closed.start())):
        return reply[closed.end() :]  # (any of the three names closes: a model may mix them)
    return "" if opened else reply


def trim_chatter(source: str, reply: str, template: str = "") -> str:
    r"""``reply`` without a label before the rewrite ("Cleaned text:"), a line of the mode's
    ``template`` repeated before it ("Clean up this dictation."), a fence around what is left,
    a note on its own edit ("(Note: I removed the filler words.)") and the offers a chat model
    ends with ("Let me know if you'd like any changes."), unless the dictation says them
    itself; what is left must still pass :func:`sanity_problem`.

    >>> trim_chatter("we ship today", "Cleaned text:\nWe ship today.\n\nLet me know if you need changes!")
    'We ship today.'
    >>> trim_chatter("ship it", "Hi Sam, we ship today. Let me know if you have any questions.")
    'Hi Sam, we ship today. Let me know if you have any questions.'
    >>> trim_chatter("let me know if the build is green", "Let me know if the build is green.")
    'Let me know if the build is green.'
    >>> trim_chatter("text: call mom at five", "Text: Call Mom at five.")
    'Text: Call Mom at five.'
    >>> trim_chatter("so um we ship today", "Sure! Here is the cleaned-up text:\n\nWe ship today.")
    'We ship today.'
    >>> trim_chatter("so um we ship today", "Here’s the cleaned-up text:\nWe ship today.")
    'We ship today.'
    >>> trim_chatter("here is the plan: we ship today", "Here is the plan:\nWe ship today.")
    'Here is the plan:\nWe ship today.'
    >>> trim_chatter("so um we ship today", "Here is the cleaned text:\n```\nWe ship today.\n```")
    'We ship today.'
    >>> template = "Clean up this dictation.\n\n{text}"
    >>> trim_chatter("um we ship today", "Clean up this dictation.\n\nWe ship today.", template)
    'We ship today.'
    >>> trim_chatter("so we ship today", "We ship today.\n\n(Note: I removed the filler words.)")
    'We ship today.'
    """
    said = " ".join(_words(source))
    text = reply
    lead_in = _LEAD_IN.match(text)
    if lead_in and not _says(said, " ".join(_words(lead_in.group(1))[:3])) and text[lead_in.end() :].strip():
        text = text[lead_in.end() :]
    label = _LABEL.match(text)
    if label and not _says(said, label.group(1)) and text[label.end() :].strip():
        text = text[label.end() :]
    first, _, rest = text.partition("\n")
    if rest.strip() and _template_line(first, template) and not _says(said, first):
        text = rest
    text = clean_reply(text, source)  # what was inside the lead-in's fence or quotes
    note = _OWN_NOTE.search(text)
    if note and note.start() > 0 and not _says(said, note.group().strip(" \t\n()")):
        text = text[: note.start()].rstrip()
    for _ in range(3):  # an offer, a wish, a question: at most a few sentences
        sentences = list(_SENTENCE.finditer(text))
        last = sentences[-1] if sentences else None
        if last is None or last.start() == 0:
            break
        sentence = _folded(last.group())
        if not (_OFFER.match(sentence) and _ABOUT_ITSELF.search(sentence)):
            break
        if _says_offer(said, last.group()):
            break
        text = text[: last.start()].rstrip()
    return text.strip()


def _says_offer(said: str, sentence: str) -> bool:
    """Whether the dictation (``said``: its words) says the offer ``sentence`` of a reply
    itself: its opening ("let me know", "please" aside), or two of its own words ("tell me if
    anything needs changes" for "Let me know if anything needs changes."). From a review: the
    speaker's own closing sentence, worded otherwise, was cut as a chat model's offer.

    >>> _says_offer("tell me if anything needs changes", "Let me know if anything needs changes.")
    True
    >>> _says_offer("he should let me know if he wants changes", "Please let me know if you want changes.")
    True
    >>> _says_offer("we ship the changes today", "Let me know if you need any changes!")
    False
    """
    words = _words(sentence)
    if words[:1] == ["please"]:
        words = words[1:]
    if _says(said, " ".join(words[:3])):
        return True
    own = {w for w in words if len(w) >= 3 and w not in _UNCOUNTED and w not in _OFFER_WORDS}
    return len(own & set(said.split())) >= 2


# The words of a chat model's offer itself (see trim_chatter), not of what it offers about.
_OFFER_WORDS = frozenset(
    """let know please hope helps help feel free need want would like happy also shall else
    anything further questions""".split()  # noqa: SIM905
)


def _template_line(line: str, template: str) -> bool:
    """Whether ``line`` of a reply is a line of the mode's ``template`` (not its placeholder)."""
    words = _words(line)
    return bool(words) and any(
        _words(own) == words for own in template.splitlines() if PLACEHOLDER not in own and own.strip()
    )


def _says(said: str, words: str) -> bool:
    """Whether ``said`` (lower-case words, single spaces) holds ``words`` as whole words."""
    wanted = " ".join(_words(words))
    return bool(wanted) and f" {wanted} " in f" {said} "


def sanity_problem(source: str, reply: str, mode: Mode) -> str | None:
    """Say what is wrong with ``reply`` as a rewrite of ``source``, or None if it looks sane.

    The problem names the rule the reply breaks, never its words: it is a fallback reason,
    which the log file keeps.
    """
    if not reply.strip():
        return "the model replied with nothing"
    if marker_digest(source) in reply:  # a marker line the model mangled (">>>TRANSCRIPT-...>>>")
        return "reply contains the prompt's marker lines"
    echoed = _echoed_instructions(source, reply, mode)
    if echoed:
        return f"reply repeats the mode's instructions ({echoed!r})"
    n_in = len(source.strip())
    n_out = len(reply.strip())
    if n_out > mode.max_ratio * n_in + 40:
        return f"reply is far longer than the input ({n_out} vs {n_in} characters)"
    if n_out < mode.min_ratio * n_in - 10:
        return f"reply is far shorter than the input ({n_out} vs {n_in} characters)"
    opening = _ANSWERING.match(_folded(reply))
    if opening is not None:
        # Said by the speaker too, near the start ("uh sorry I'm late" tidied as "Sorry I'm
        # late"), the opening is theirs. Compared by whole words: "Is the server up" is no
        # licence for "I cannot check", nor "Ask Maria" for "As an AI".
        said = _words(opening.group(1))  # ("Okay, here's": "okay" as the speaker said it)
        head = _words(source)[: len(said) + 2]
        if not any(head[i : i + len(said)] == said for i in range(len(head))):
            return "reply answers the text instead of rewriting it"
    if mode.min_overlap:  # a mode that keeps the words said (clean, email, message, list)
        answer = _ANSWER.match(_folded(reply))
        if answer is not None and _asks(source) and not _opens_a_clause(source, _words(answer.group(1))):
            return "reply answers the question in the text instead of rewriting it"
        if mode.keep_questions and "?" not in reply and _is_question(source):
            return "reply answers the question in the text instead of rewriting it"
        repeated = _repeats(source, reply)
        if repeated:
            return repeated
    kept = _kept_words(source, reply)
    if kept is not None and kept[0] < mode.min_overlap * kept[1]:
        return f"reply keeps {kept[0]} of the {kept[1]} words said: it is not a rewrite of them"
    if kept is not None and kept[0] < mode.min_shared * kept[1]:  # ("Paris is the capital of France.")
        return f"reply keeps {kept[0]} of the {kept[1]} words said: it is about something else"
    if mode.min_overlap:
        if kept is None and _chats_back(source, reply):  # (a word or two said: too few to count)
            return "reply says other words than the few said (a chat reply)"
        return _negation_changed(source, reply)  # ("we should not ship" as "We should ship.")
    return None


def _asks(source: str) -> bool:
    """Whether ``source`` asks something: a question mark, or a question's first word.

    >>> _asks("um how do I install numpy"), _asks("we ship on friday"), _asks("ship it? yes")
    (True, False, True)
    """
    if "?" in source:
        return True
    words = _without_leading_fillers(_words(source))
    return bool(words) and words[0] in _ASKING


def _is_question(source: str) -> bool:
    """Whether ``source`` is a question for sure: a question mark, or (after fillers) a
    question word, or a verb that asks before its subject ("is the deploy done", "can you
    send it"); not an order that starts like one ("do it now", "have Sam check it").

    >>> [_is_question(t) for t in ("um is the deploy done yet", "who broke the build", "do it now")]
    [True, True, False]
    >>> _is_question("did you push it"), _is_question("will do"), _is_question("have Sam check it")
    (True, False, False)
    """
    if "?" in source:
        return True
    words = _without_leading_fillers(_words(source))
    if len(words) < 2:
        return False
    first, second = words[0], words[1]
    if first in _QUESTION_WORDS:
        return True
    if first in _ORDERING_VERBS:  # ("do it now" gives an order; "did you push it" asks)
        return second in _SUBJECTS and second not in {"it", "there"}
    return first in _ASKING_VERBS and (second in _SUBJECTS or second in _DETERMINERS)


def _negation_changed(source: str, reply: str) -> str | None:
    """Why ``reply`` says the opposite of ``source``: the text says "not" (or "never", "no",
    a "n't") and the reply none, or the other way round; None when both do or neither does.

    >>> _negation_changed("we should not ship the release on friday", "We should ship the release on Friday.")
    "reply drops the text's negation ('not')"
    >>> _negation_changed("we can't ship", "We cannot ship."), _negation_changed("ship it", "Ship it.")
    (None, None)
    """
    said, written = _negations(source), _negations(reply)
    if said and not written:
        return f"reply drops the text's negation ({said[0]!r})"
    if written and not said:
        return f"reply adds a negation the text does not have ({written[0]!r})"
    return None


def _negations(text: str) -> list[str]:
    """The words of ``text`` that negate ("not", "never", "don't")."""
    return [w for w in _words(text) if w in _NEGATIONS or w.endswith("n't")]


def _chats_back(source: str, reply: str) -> bool:
    """Whether ``reply`` to a text of a word or two ("thank you", "hello", "um") keeps none
    of its words: a chat model's answer ("You're welcome!", "Hi there! How can I help?").

    >>> _chats_back("thank you", "You're welcome!"), _chats_back("thank you", "Thank you.")
    (True, False)
    >>> _chats_back("um", "I'm not sure what you mean.")
    True
    """
    said = {w for w in _words(source) if w not in _FILLERS}
    written = set(_words(reply))
    return bool(written) and not (said & written)


def _opens_a_clause(source: str, words: list[str]) -> bool:
    """Whether ``source`` says ``words`` at the start of a sentence or clause of its own (after
    fillers): "um yes we can" and "tell Sam: yes, we can" say "yes" there; "is it done" does not.

    >>> _opens_a_clause("so yes, can we ship it", ["yes"]), _opens_a_clause("is it yes", ["yes"])
    (True, False)
    """
    return any(
        _without_leading_fillers(_words(clause))[: len(words)] == words for clause in _CLAUSE.split(source)
    )


def _without_leading_fillers(words: list[str]) -> list[str]:
    start = 0
    while start < len(words) and words[start] in _LEADING_FILLERS:
        start += 1
    return words[start:]


def _repeats(source: str, reply: str) -> str | None:
    """What ``reply`` says twice that ``source`` says once (a model that wrote its rewrite
    twice), or None: a sentence of three words or more, or a run of words in a row.

    >>> _repeats("um we ship on friday", "We ship on Friday. We ship on Friday.")
    'reply says a sentence 2 times that the text says once'
    >>> _repeats("we ship on friday, we ship on friday", "We ship on Friday. We ship on Friday.")
    >>> _repeats("ship it", "Ship it. Ship it.")  # (too short to tell from a speaker's)
    """
    from app.transcribe.glitches import said_twice

    said = [w for w in _words(source) if w not in _FILLERS]
    counts: dict[tuple[str, ...], int] = {}
    for sentence in _SENTENCE.finditer(reply):
        words = tuple(_words(sentence.group()))
        if len(words) >= 3:
            counts[words] = counts.get(words, 0) + 1
    for words, count in counts.items():
        n = len(words)
        spoken = sum(1 for i in range(len(said) - n + 1) if tuple(said[i : i + n]) == words)
        if count > max(1, spoken):
            said_so = "once" if spoken < 2 else f"{spoken} times"
            return f"reply says a sentence {count} times that the text says {said_so}"
    run = said_twice(reply)
    if run > said_twice(" ".join(said)):
        return f"reply says a run of {run} words twice in a row that the text says once"
    return None


def _kept_words(source: str, reply: str) -> tuple[int, int] | None:
    """How many of the words ``source`` says (those of three letters or more, fillers and the
    commonest small words aside) ``reply`` keeps, and of how many; None under two such words
    (too few to judge). A word counts as kept in another form ("released" for "release").

    >>> _kept_words("so um I think we should ship the release on friday", "We should ship it on Friday.")
    (3, 5)
    >>> _kept_words("so I think we should ship the release on friday", "The weather is nice in London.")
    (0, 5)
    >>> _kept_words("What is the capital of France?", "Paris."), _kept_words("ship it", "Done.")
    ((0, 2), None)
    """
    said = {w for w in _words(source) if len(w) >= 3 and w not in _UNCOUNTED}
    if len(said) < 2:
        return None
    written = set(_words(reply))
    stems = {w[:5] for w in written if len(w) >= 5}
    kept = sum(1 for w in said if w in written or (len(w) >= 5 and w[:5] in stems))
    return kept, len(said)


def _words(text: str) -> list[str]:
    """The words of ``text`` in lower case, apostrophes folded and kept ("Here’s" is "here's")."""
    return re.findall(r"[\w']+", _folded(text).lower())


def _folded(text: str) -> str:
    """``text`` with typographic apostrophes as straight ones ("Here’s" is "Here's")."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _shingles(text: str, n: int = _SHINGLE) -> dict[tuple[str, ...], str]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]): " ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def _echoed_instructions(source: str, reply: str, mode: Mode) -> str | None:
    """A run of words the reply shares with the instructions but not with the dictated text."""
    instructions = f"{mode.system}\n{mode.template.replace(PLACEHOLDER, frame(''))}"
    taught = _shingles(instructions)
    spoken = _shingles(source)
    for gram, words in _shingles(reply).items():
        if gram in taught and gram not in spoken:
            return words
    return None


def strip_fence(text: str) -> str:
    """``text`` without a Markdown code fence around the whole of it."""
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text
