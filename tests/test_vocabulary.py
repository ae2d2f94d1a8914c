"""Vocabulary: spoken variants, sound keys, biasing text and the phonetic auto-correction."""

from __future__ import annotations

import pytest

from app.text.pipeline import tidy
from app.text.readings import number_readings
from app.text.vocabulary import Vocabulary, sound_key, spoken_variants

TERMS = [
    "scikit-learn",
    "PyPI",
    "NumPy",
    "GitHub",
    "git",
    "pytest",
    "Pydantic",
    "diskcache",
    "Talk Python To Me",
    "TypeScript",
    "Node.js",
    "uv",
    "Ollama",
    "Celery",
    "YAML",
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(TERMS)


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("I fixed a bug in sicket learn.", "I fixed a bug in scikit-learn."),
        ("I fixed a bug in psychic learn.", "I fixed a bug in scikit-learn."),
        ("I fixed a bug in sigh kit learn.", "I fixed a bug in scikit-learn."),
        ("I fixed a bug in scikit learn.", "I fixed a bug in scikit-learn."),
        ("I fixed a bug in sicket-learn.", "I fixed a bug in scikit-learn."),
        # Whisper sometimes hyphenates a misheard term onto its neighbours: the pieces of a
        # hyphenated word are words of their own.
        ("the prompts go through store-to-disk cache.", "the prompts go through store-to-diskcache."),
        ("plugins for local-Ralama and more", "plugins for local-Ollama and more"),
        ("download it from pie pie", "download it from PyPI"),
        ("download it from pi pi", "download it from PyPI"),
        ("download it from P Y P I", "download it from PyPI"),
        ("install num pie first", "install NumPy first"),
        ("push it to github", "push it to GitHub"),
        ("push it to Github's servers", "push it to GitHub's servers"),
        ("Run, Pytest with coverage.", "Run, pytest with coverage."),
        ("validate it with pyantic.", "validate it with Pydantic."),
        ("wrap it with disk cache so", "wrap it with diskcache so"),
        ("This week on talk, Python To Me, we", "This week on Talk Python To Me, we"),
        ("the front end is in Type script", "the front end is in TypeScript"),
        ("served by node.js today", "served by Node.js today"),
        ("plugins for Ralama and more", "plugins for Ollama and more"),
        ("jobs run on celery", "jobs run on Celery"),
    ],
)
def test_near_misses_become_terms(vocab: Vocabulary, heard: str, expected: str) -> None:
    assert vocab.correct(heard) == expected


@pytest.mark.parametrize(
    "text",
    [
        "we ate apple pie in the garden",
        "get the file from the server",
        "the sky is high today",
        "draw a pie chart of the sales",
        "ask what you can do for your country",
        "his salary went up",
        "the pilot took a nap",
        "a jingo poem",
        "let us learn to play",
        "the number is pi",
        "we got it, then left.",
        "the kitten sat on the mat",
        "",
        "   ",
        "Numbers like 3.14 and 42 stay.",
        # A letter of another alphabet alone (a symbol, a Russian word): a KeyError that
        # failed every LLM mode's reply check and `rules test` with a traceback.
        "The value of π is small, and σ too.",
        "я в офисе",
    ],
)
def test_ordinary_text_is_left_alone(vocab: Vocabulary, text: str) -> None:
    assert vocab.correct(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # One common word written as such is the word Whisper heard, not a look-alike term.
        ("Call me back tomorrow.", "Call me back tomorrow."),
        ("The system is down.", "The system is down."),
        ("Sort the list first, then ask the desk.", "Sort the list first, then ask the desk."),
        ("It was the last century.", "It was the last century."),
        # Written as a name mid-sentence, it is a name as often as a misheard term: only the
        # audio may tell (test_a_capitalised_common_word_is_left_to_the_audio).
        ("Errors go to Century now.", "Errors go to Century now."),
        # The term's own letters are only re-cased.
        ("restart the Systemd unit", "restart the systemd unit"),
        # A term's own spoken reading still counts, common word or not.
        ("write the query in sequel", "write the query in SQL"),
        # Rare words and misspellings are still fixed.
        ("sort the imports with eyesort", "sort the imports with isort"),
    ],
)
def test_common_words_are_not_turned_into_look_alike_terms(text: str, expected: str) -> None:
    vocab = Vocabulary(["Black", "systemd", "isort", "Sentry", "Dask", "SQL"])
    assert vocab.correct(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The letters of a term, split at a small word, are ordinary words...
        ("Put the files in it.", "Put the files in it."),
        ("I sort the list by date.", "I sort the list by date."),
        ("Run a sync job.", "Run a sync job."),
        ("Add it to my to do list.", "Add it to my to do list."),
        ("Do it in place.", "Do it in place."),
        # ...unless the words are those of one of the term's readings.
        ("Use My SQL here.", "Use MySQL here."),
        ("We use no sequel.", "We use NoSQL."),
        ("This week on talk, Python To Me.", "This week on Talk Python To Me."),
        # A name spelled out letter by letter is not cut at "I" or "a".
        ("download it from P Y P I", "download it from PyPI"),
        # Written as the term, it is the term.
        ("Run isort, then init.", "Run isort, then init."),
    ],
)
def test_a_term_split_at_a_small_word_must_be_one_of_its_readings(text: str, expected: str) -> None:
    vocab = Vocabulary(
        ["init", "isort", "async", "todo", "inplace", "MySQL", "NoSQL", "Talk Python To Me", "PyPI"]
    )
    assert vocab.correct(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An acronym Whisper knows is what it heard: "API" is not a misheard PyPI.
        ("The API returns JSON.", "The API returns JSON."),
        ("an API call", "an API call"),
        # ...but it may be part of a term said as words.
        ("The first API endpoint", "The FastAPI endpoint"),
        # Acronyms Whisper does not know as one token are still its guesses ("RBC" for gRPC).
        ("services talk over the RBC", "services talk over the gRPC"),
        # A name Whisper knows is what it heard too: GitHub is not a misheard GitLab...
        ("We moved the code to GitHub.", "We moved the code to GitHub."),
        # ...while its guesses at a name it does not know are still corrected.
        ("The index is built on Lambendix.", "The index is built on LlamaIndex."),
    ],
)
def test_known_acronyms_and_names_are_not_turned_into_look_alike_terms(text: str, expected: str) -> None:
    vocab = Vocabulary(["PyPI", "FastAPI", "gRPC", "GitLab", "LlamaIndex"])
    assert vocab.correct(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Whisper's transcripts of the speech set (a talk on printing), read with 305 terms:
        # a first name Whisper knows is what it heard, not a misheard Prettier (as GitHub is
        # not a misheard GitLab)...
        ("printed at Mainz by Peter Schoeffer in 1462", "printed at Mainz by Peter Schoeffer in 1462"),
        # ...a common word with a plural ending is that word, not a misheard cattrs...
        ("before the wood cutters of the Netherlands", "before the wood cutters of the Netherlands"),
        # ...and one word of a term heard exactly does not carry the word beside it.
        ("used an exceedingly beautiful type, which", "used an exceedingly beautiful type, which"),
        # The terms themselves still come out, said or misheard.
        ("Format it with Pretier.", "Format it with Prettier."),
        ("parse it with beautiful soup", "parse it with BeautifulSoup"),
        ("load them with cat tres", "load them with cattrs"),
        ("I googled it", "I Googled it"),
    ],
)
def test_ordinary_speech_keeps_names_plurals_and_word_pairs(text: str, expected: str) -> None:
    vocab = Vocabulary(["Prettier", "cattrs", "BeautifulSoup", "Google"])
    assert vocab.correct(text) == expected


def test_a_capitalised_common_word_is_left_to_the_audio() -> None:
    vocab = Vocabulary(["Sentry", "TOML", "Pyright", "Trio", "SQL"])
    for text, term in [
        ("Errors go to Century now.", "Sentry"),
        ("I talked to Tom about it.", "TOML"),
        ("They prayed to the Great Spirit.", "Pyright"),
        ("It ended with World War Three.", "Trio"),
    ]:
        assert vocab.correct(text) == text
        assert term in [m.term for m in vocab.near_misses(text)], text
    # a term's own spoken reading is still the term, capitalised or not
    assert vocab.correct("Write it in Sequel now.") == "Write it in SQL now."


def test_a_common_word_in_capitals_is_left_to_the_audio() -> None:
    """The words "FACTS" and "DOCTOR" had become FAISS and Docker on looks (Debian's
    fortunes); a word in capitals of four letters or more that is a common word is now checked
    against the audio like a capitalised one. A shorter one is as often an acronym: "BIP" for
    pip keeps the looser margin of other near misses."""
    vocab = Vocabulary(["FAISS", "Docker", "pip"])
    for text, term in [("Just the FACTS, please.", "FAISS"), ("Call the DOCTOR now!", "Docker")]:
        assert vocab.correct(text) == text
        misses = vocab.near_misses(text)
        assert [(m.term, m.deliberate) for m in misses] == [(term, True)], misses
    bip = vocab.near_misses("Install it with BIP first.")
    assert [(m.term, m.deliberate) for m in bip] == [("pip", False)], bip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the end of a contraction is part of its word: no run of words starts there
        ("It's too late.", "It's too late."),
        ("I don't trust him.", "I don't trust him."),
        ("I'll ask her.", "I'll ask her."),
        ("That's quite good.", "That's quite good."),
        ("It wasn't much.", "It wasn't much."),
        ("There's three of them.", "There's three of them."),
        ("I'd say so.", "I'd say so."),
        # a term's possessive is still the term's
        ("github's issues", "GitHub's issues"),
        ("We keep logs in s3 and tmux's history.", "We keep logs in S3 and tmux's history."),
    ],
)
def test_a_contraction_is_one_word(text: str, expected: str) -> None:
    vocab = Vocabulary(["Istio", "Rust", "Flask", "SQLite", "tmux", "S3", "D", "GitHub"])
    assert vocab.correct(text) == expected


def test_short_terms_need_an_exact_match() -> None:
    vocab = Vocabulary(["git", "uv", "pip"])
    assert vocab.correct("get the file and go") == "get the file and go"
    assert vocab.correct("GIT is great") == "git is great"
    assert vocab.correct("use u v to lock it") == "use uv to lock it"


def test_terms_differing_only_in_case_keep_what_was_written() -> None:
    vocab = Vocabulary(["LLM", "llm"])
    assert vocab.correct("the llm tool") == "the llm tool"
    assert vocab.correct("an LLM app") == "an LLM app"


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        # exact spellings are kept whatever the order of the terms
        (["LLM", "llm"], "the llm tool", "the llm tool"),
        (["llm", "LLM"], "an LLM app", "an LLM app"),
        # also for a hyphenated term, whose pieces are separate words to the matcher
        (["scikit-learn", "Scikit-Learn"], "use Scikit-Learn now", "use Scikit-Learn now"),
        (["Scikit-Learn", "scikit-learn"], "use scikit-learn now", "use scikit-learn now"),
        # letters read out: lower-case words pick the lower-case term, capitals the capital one
        (["LLM", "llm"], "the l l m tool", "the llm tool"),
        (["llm", "LLM"], "the L L M tool", "the LLM tool"),
        # mixed casing that is neither: the term added first
        (["LLM", "llm"], "Llm is here", "LLM is here"),
        (["llm", "LLM"], "Llm is here", "llm is here"),
        # a single spelling is always restored as given
        (["GitHub"], "on github", "on GitHub"),
        (["GitHub"], "on GITHUB", "on GitHub"),
    ],
)
def test_terms_differing_only_in_case_follow_the_transcript(
    terms: list[str], text: str, expected: str
) -> None:
    assert Vocabulary(terms).correct(text) == expected


def test_settings_keep_terms_that_differ_only_in_case() -> None:
    from app.config import VocabularySettings

    settings = VocabularySettings(terms=["LLM", " llm ", "LLM", "Git  Hub", "Git Hub", ""])
    assert settings.terms == ["LLM", "llm", "Git Hub"]


def test_prompt_lists_terms_differing_only_in_case_once() -> None:
    vocab = Vocabulary(["LLM", "GitHub", "llm", "github"])
    assert vocab.terms == ["LLM", "GitHub", "llm", "github"]
    assert vocab.prompt() == "Today we talked about LLM and GitHub. Let me tell you what I did."
    assert vocab.hotwords() == "LLM, GitHub"
    three = Vocabulary(["PyPI", "NumPy", "uv"]).prompt()
    assert three == "Today we talked about PyPI, NumPy and uv. Let me tell you what I did."
    assert Vocabulary(["uv"]).prompt() == "Today we talked about uv. Let me tell you what I did."


def test_no_terms_is_identity() -> None:
    vocab = Vocabulary([])
    assert not vocab
    assert vocab.correct("sicket learn from pie pie") == "sicket learn from pie pie"
    assert vocab.prompt() is None
    assert vocab.hotwords() is None


def test_prompt_and_hotwords_list_every_term_in_exact_spelling(vocab: Vocabulary) -> None:
    prompt = vocab.prompt()
    hotwords = vocab.hotwords()
    assert prompt is not None and hotwords is not None
    for term in TERMS:
        assert term in prompt
        assert term in hotwords


def test_low_sensitivity_fixes_less() -> None:
    eager = Vocabulary(["Ollama"], sensitivity=1.0)
    shy = Vocabulary(["Ollama"], sensitivity=0.0)
    assert eager.correct("plugins for Ralama") == "plugins for Ollama"
    assert shy.correct("plugins for Ralama") == "plugins for Ralama"


@pytest.mark.parametrize(
    ("term", "said"),
    [
        ("PyPI", "pie pie"),
        ("PyPI", "pee why pee eye"),
        ("NumPy", "num pie"),
        ("LLM", "el el em"),
        ("Node.js", "node dot js"),
    ],
)
def test_spoken_variants(term: str, said: str) -> None:
    assert said in spoken_variants(term)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("sigh kit learn", "scikit-learn", True),
        ("sicket learn", "scikit learn", True),
        ("phone", "fone", True),
        ("celery", "pytest", False),
        ("apple", "pypi", False),
    ],
)
def test_sound_key(a: str, b: str, same: bool) -> None:
    assert (sound_key(a) == sound_key(b)) is same


def test_an_ampersand_inside_a_word_is_read_and() -> None:
    """R&D is said "R and D"; an "&" between words is matched by the words around it."""
    assert "ar and dee" in spoken_variants("R&D")
    assert spoken_variants("Weights & Biases") == ["weights & biases", "weights biases"]
    vocab = Vocabulary(["R&D", "AT&T", "Q&A"])
    assert vocab.correct("the R and D team called AT and T") == "the R&D team called AT&T"
    assert vocab.correct("post it in the Q and A") == "post it in the Q&A"
    for ordinary in ["rock and roll", "research and development", "we sat and talked"]:
        assert vocab.correct(ordinary) == ordinary


@pytest.mark.parametrize(
    ("digits", "said"),
    [
        ("100", "one hundred"),
        ("4090", "forty ninety"),
        ("2015", "twenty fifteen"),
        ("2005", "twenty oh five"),
    ],
)
def test_numbers_are_read_as_counts_and_pairs(digits: str, said: str) -> None:
    assert said in number_readings(digits)
    assert number_readings(digits)[0] == " ".join(number_readings(d)[0] for d in digits)
    assert "thirty hundred" not in number_readings("3000")


def test_terms_with_a_number_match_only_that_number() -> None:
    """A look-alike of a term with a number writes the same number (or none), and the rest of
    it looks like the rest of the term: the number alone never carries the match."""
    vocab = Vocabulary(["H100", "ES2015", "Python 3.12", "Llama 3", "RTX 4090", "GPT-4o", "Flake8"])
    assert vocab.correct("we rent an H one hundred") == "we rent an H100"
    assert vocab.correct("we lint with flakeate") == "we lint with Flake8"  # "eight" heard in it
    assert vocab.correct("we fine tune Lama three") == "we fine tune Llama 3"
    assert vocab.correct("it runs on an RTX forty ninety") == "it runs on an RTX 4090"
    assert vocab.correct("we fine tune Lama 3") == "we fine tune Llama 3"
    assert vocab.correct("the chatbot calls GPT 403") == "the chatbot calls GPT-4o 403"
    for ordinary in [
        "each 100 dollars",
        "in 2015 we moved",
        "in twenty fifteen we moved",
        "upgrade to Python 3.11",
        "upgrade to python three eleven",
        "I ran forty ninety miles",
        "each one hundred dollars",
    ]:
        assert vocab.correct(ordinary) == ordinary


def test_a_term_with_a_number_is_not_made_of_another_number_or_of_none() -> None:
    """From a review: "GPT-3" became "GPT-4o-3", "Ask GPT" "Ask GPT-4o", "large v two"
    "large-v3 two", "resnet fifty one" "ResNet-50 one": the run without its number (or with
    the start of a longer one) was taken for the term."""
    vocab = Vocabulary(["GPT-4o", "large-v3", "ResNet-50", "Llama 3"])
    for ordinary in [
        "Use GPT-3 now.",
        "Ask GPT about it.",
        "Use the large v two model.",
        "Use resnet fifty one.",
        "Use llama three point one.",
    ]:
        assert vocab.correct(ordinary) == ordinary
    assert vocab.correct("Use large v three.") == "Use large-v3."
    assert vocab.correct("Use resnet fifty.") == "Use ResNet-50."
    assert vocab.correct("We fine tune llama three.") == "We fine tune Llama 3."


def test_a_reading_of_a_longer_term_takes_a_word_that_is_a_term() -> None:
    """With C and C++ (or Python and Python 3.12) both in the vocabulary, "c plus plus" gave
    "C plus plus": a word that is a term was never part of a longer one's reading."""
    vocab = Vocabulary(["C", "C++", "C#", "Python", "Python 3.12", "CUDA", "CUDA 12"])
    assert vocab.correct("Use c plus plus.") == "Use C++."
    assert vocab.correct("Use c sharp.") == "Use C#."
    assert vocab.correct("Install python three twelve.") == "Install Python 3.12."
    assert vocab.correct("Install cuda twelve.") == "Install CUDA 12."
    assert vocab.correct("I like c and python.") == "I like C and Python."
    assert vocab.correct("Python plus pandas.") == "Python plus pandas."  # no look-alike takes it


def test_a_term_of_several_words_is_not_written_beside_its_own_last_word() -> None:
    """ "talk python too me" became "Talk Python To Me me": the run short of "me" was taken for
    the whole term."""
    vocab = Vocabulary(["Talk Python To Me"])
    assert "me me" not in vocab.correct("I listen to talk python too me.").lower()
    assert vocab.correct("I listen to talk python to me.") == "I listen to Talk Python To Me."


def test_a_term_with_an_accent_or_a_greek_letter_is_said_as_it_is_written() -> None:
    """From a review: the letters of "Pokémon" were "pokmon" (the é dropped), so Whisper's
    "pokemon" stayed; "naïve" was read "nave", which then became it; "λ-calculus" was read
    "calculus", so every "calculus" did."""
    vocab = Vocabulary(["Pokémon", "Zürich", "naïve", "λ-calculus"])
    assert vocab.correct("Catch a pokemon in Zurich.") == "Catch a Pokémon in Zürich."
    assert vocab.correct("A naive approach.") == "A naïve approach."
    assert vocab.correct("Use lambda calculus.") == "Use λ-calculus."
    for ordinary in ["The nave of the church.", "I studied calculus."]:
        assert vocab.correct(ordinary) == ordinary


def test_a_word_and_a_number_are_no_term_with_a_number() -> None:
    """tiny.en writes "a hundred" as "A 100": an article and a number, not the A100 GPU (the
    real model wrote "About A 100 people came." for "About a hundred people came."). Only the
    joined "A100" is the term."""
    vocab = Vocabulary(["A100", "H100", "I9"])
    for ordinary in [
        "About a 100 people came.",
        "About A 100 people came.",
        "I am a 100% sure.",
        "About a hundred people came.",
        "I 9 times out of ten agree.",
    ]:
        assert vocab.correct(ordinary) == ordinary
    assert vocab.correct("the a100 is fast") == "the A100 is fast"
    assert vocab.correct("we rent an H 100") == "we rent an H100"


def test_terms_with_symbols_are_read_with_their_symbols() -> None:
    """C++ is "see plus plus", never "see" alone; .NET is "dot net", never "net" alone."""
    assert spoken_variants("C++") == ["c plus plus", "see plus plus", "c++"]
    assert "see sharp" in spoken_variants("C#")
    assert "dot net" in spoken_variants(".NET")
    assert "net" not in spoken_variants(".NET")
    vocab = Vocabulary(["C++", "C#", ".NET", "F#"])
    assert vocab.correct("I write see sharp and see plus plus on dot net") == "I write C# and C++ on .NET"
    assert vocab.correct("I write c# on .net and f sharp") == "I write C# on .NET and F#"
    for ordinary in ["I can see the sea", "I take vitamin c daily", "the net result", "plan b or plan c"]:
        assert vocab.correct(ordinary) == ordinary


def test_a_leading_dot_is_part_of_the_word() -> None:
    assert tidy("written on .NET , then .env is read .") == "written on .NET, then .env is read."


@pytest.mark.parametrize(
    ("text", "tidied"),
    [
        ("great :)", "great :)"),  # an emoticon a rule put in keeps its space
        ("great ;-) thanks", "great ;-) thanks"),
        ("that is sad :( .", "that is sad :(."),
        ("see you :D", "see you :D"),
        ("ready ?", "ready?"),  # punctuation that ends here joins the word
        ("really ?!", "really?!"),
        ('he said "yes" , then left', 'he said "yes", then left'),
        ("a list : one , two", "a list: one, two"),
        ("(fine , really)", "(fine, really)"),
    ],
)
def test_tidy_joins_punctuation_but_not_emoticons(text: str, tidied: str) -> None:
    assert tidy(text) == tidied


def test_a_reading_that_starts_with_a_small_word_is_the_term() -> None:
    """'my sequel' is MySQL and 'no sequel' NoSQL (a reading of the term), but a run that starts
    with a small word is never a fuzzy look-alike."""
    vocab = Vocabulary(["MySQL", "NoSQL", "IPv6", "Talk Python To Me"])
    said = "store it in my sequel, not a no sequel store"
    assert vocab.correct(said) == "store it in MySQL, not a NoSQL store"
    assert vocab.correct("it speaks i p v six") == "it speaks IPv6"
    for ordinary in ["and then you see it in the log", "my sister said no", "it is in my equal share"]:
        assert vocab.correct(ordinary) == ordinary


def test_the_longest_reading_of_a_term_wins() -> None:
    vocab = Vocabulary(["Three.js", "D3.js", "GitHub", "GitHub Actions"])
    assert vocab.correct("charts in d three js, scenes in three js") == "charts in D3.js, scenes in Three.js"
    assert vocab.correct("it runs on git hub actions") == "it runs on GitHub Actions"


def test_a_terms_words_with_other_words_between_them_are_those_words() -> None:
    """From a review: "I am hugging my face pillow." became "I am Hugging Face pillow.": the
    run took the term and lost the word between its words, which Whisper heard."""
    vocab = Vocabulary(["Hugging Face", "Talk Python To Me", "R&D"])
    assert vocab.correct("I am hugging my face pillow.") == "I am hugging my face pillow."
    assert vocab.correct("stop hugging the face") == "stop hugging the face"
    assert vocab.correct("the hugging face hub") == "the Hugging Face hub"
    assert vocab.correct("on talk python to me") == "on Talk Python To Me"


def test_a_term_with_a_part_no_word_says_is_not_written_twice() -> None:
    """From a review: with the term "👍 emoji", "I like the 👍 emoji" became "I like the 👍 👍
    emoji": "emoji" was made the whole term, before the 👍 already written."""
    vocab = Vocabulary(["👍 emoji"])
    assert vocab.correct("I like the 👍 emoji") == "I like the 👍 emoji"
    assert vocab.correct("I like the 👍 Emoji a lot") == "I like the 👍 emoji a lot"


def test_a_version_is_read_with_point() -> None:
    vocab = Vocabulary(["Python 3.12", "Claude 3.5 Sonnet"])
    assert vocab.correct("install python three point twelve") == "install Python 3.12"
    assert vocab.correct("ask claude three point five sonnet") == "ask Claude 3.5 Sonnet"
    assert vocab.correct("install python three twelve") == "install Python 3.12"
    assert vocab.correct("a 3.5 rating") == "a 3.5 rating"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("merge the two data frames", "merge the two DataFrames"),
        ("merge the two DataFrames", "merge the two DataFrames"),
        ("open two pull requests", "open two pull requests"),
        ("run both docker containers", "run both Docker containers"),
        ("add webhooks to GitHub", "add webhooks to GitHub"),
        ("rebuild the indexes", "rebuild the indexes"),
        ("one data frame", "one DataFrame"),
        ("three kubernetes clusters", "three Kubernetes clusters"),
        ("use panda", "use pandas"),
        ("we pytested it", "we pytested it"),
        ("I googled it", "I Googled it"),
        # A look-alike is not the term said in the plural: Whisper's "s" goes with its guess.
        ("fit it with sicket learns", "fit it with scikit-learn"),
        ("merge the data frame's", "merge the DataFrame's"),
    ],
)
def test_a_term_keeps_its_ending(heard: str, expected: str) -> None:
    """A term said in the plural keeps its "s" (it used to be cut: "two DataFrame"), one said
    as a verb its "ed"; a term that ends in "s" itself (Kubernetes, pandas) is never given
    another."""
    terms = ["DataFrame", "pull request", "Docker container", "webhook", "index", "Kubernetes", "pandas"]
    vocab = Vocabulary([*terms, "pytest", "Google", "scikit-learn"])
    assert vocab.correct(heard) == expected


def test_a_piece_of_an_identifier_is_left_alone() -> None:
    """Dictated code keeps its spelling: no term is found inside a name with underscores."""
    vocab = Vocabulary(["Jupyter", "NumPy"])
    assert vocab.correct("open jupyter_notebook_config.py") == "open jupyter_notebook_config.py"
    assert vocab.correct("call numpy_helpers, then numpy") == "call numpy_helpers, then NumPy"


def test_a_term_said_a_syllable_at_a_time_is_found_even_alone() -> None:
    """How many words a run may have used to depend on the other terms' readings: with
    Matplotlib alone, "mat plot lib" (three words) was never compared with it."""
    assert Vocabulary(["Matplotlib"]).correct("plot with mat plot lib") == "plot with Matplotlib"


def test_a_ctl_tool_is_read_control() -> None:
    vocab = Vocabulary(["kubectl", "systemctl"])
    assert vocab.correct("run cube control apply") == "run kubectl apply"
    assert vocab.correct("sudo system control restart nginx") == "sudo systemctl restart nginx"


def test_a_term_with_an_apostrophe() -> None:
    """A term spelled with an apostrophe is found across it ("let's encrypt" had become
    "let'Let's Encrypt"); other terms keep the possessive that follows them."""
    vocab = Vocabulary(["Let's Encrypt", "O'Reilly", "GitHub"])
    assert vocab.correct("a cert from let's encrypt") == "a cert from Let's Encrypt"
    assert vocab.correct("a cert from lets encrypt") == "a cert from Let's Encrypt"
    assert vocab.correct("a book from o reilly, on github's page") == "a book from O'Reilly, on GitHub's page"


def test_only_a_term_with_an_apostrophe_goes_on_past_a_contraction() -> None:
    """With a term spelled with an apostrophe in the vocabulary, runs of words join across
    apostrophes; "let's build" had then become esbuild, "it's dangerous" Itsdangerous."""
    vocab = Vocabulary(["Let's Encrypt", "esbuild", "Itsdangerous"])
    for ordinary in ["Let's build the app first.", "It's dangerous to go alone."]:
        assert vocab.correct(ordinary) == ordinary
        assert vocab.near_misses(ordinary) == []
    assert vocab.correct("let's encrypt it, then es build it") == "Let's Encrypt it, then esbuild it"
    assert vocab.correct("sign it with itsdangerous") == "sign it with Itsdangerous"


def test_an_acronym_that_starts_a_word_is_read_whole() -> None:
    """'SQLite' splits like 'HTMLParser' ("SQ", "Lite") yet is said "sequel lite"; a run as
    long as such a reading is compared with the term, not one as long as its letters read one
    by one ("plot engine x" is not ONNX)."""
    assert "sequel ite" in spoken_variants("SQLite")
    vocab = Vocabulary(["SQLite", "ONNX", "NGINX"])
    assert vocab.correct("We keep the cache in sequel light.") == "We keep the cache in SQLite."
    assert vocab.correct("Plot engine X in front of it.") == "Plot NGINX in front of it."
    for ordinary in ["A light sequel to the film.", "The sequel was light on plot."]:
        assert vocab.correct(ordinary) == ordinary


def test_a_term_of_many_pieces_has_a_bounded_number_of_readings() -> None:
    """Each piece of "PyPy..." has three readings: all their mixes for 20 pieces (3**20) would
    never finish; the readings stop at a few dozen, the written form included."""
    variants = spoken_variants("Py" * 20)
    assert 1 < len(variants) <= 49
    assert variants[-1] == "py" * 20


def test_a_letter_term_leaves_the_common_word_that_names_the_letter() -> None:
    # "see" is how C is said, and "queue" Q, "ex" X: with C in the vocabulary, "let me see the
    # code" became "let me C the code". Said as a letter, Whisper writes the letter.
    vocab = Vocabulary(["C", "Q", "X", "C++", "C#"])
    for ordinary in ["let me see the code", "the queue is long", "my ex said so"]:
        assert vocab.correct(ordinary) == ordinary
    assert vocab.correct("it is written in c, not in see plus plus") == "it is written in C, not in C++"
    assert vocab.correct("we ported it to see sharp") == "we ported it to C#"


def test_looks_never_add_a_word_to_what_whisper_wrote() -> None:
    # "TensorFlow" is the first word of TensorFlow Lite and 83 % like it: Whisper wrote the
    # words it heard, so only the audio may say the rest (it stays a near miss, see confirm).
    vocab = Vocabulary(["TensorFlow Lite", "Talk Python To Me"])
    text = "The model runs on TensorFlow, as Talk Python said."
    assert vocab.correct(text) == text
    misses = [(text[m.start : m.end], m.term) for m in vocab.near_misses(text)]
    assert ("TensorFlow", "TensorFlow Lite") in misses
    # All of a term's words, misheard, are still the term.
    assert vocab.correct("ship it with tensor flow light") == "ship it with TensorFlow Lite"
    assert vocab.correct("on talk python to me") == "on Talk Python To Me"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the first or last pieces of a name in camel case are what Whisper heard
        ("Convert the tensor to an array.", "Convert the tensor to an array."),
        ("Each batch holds a tensor of token ids.", "Each batch holds a tensor of token ids."),
        ("We light a torch in the dark.", "We light a torch in the dark."),
        # the whole name, misheard, is still the term
        ("We serve it with tensor RT.", "We serve it with TensorRT."),
        ("Train it with pie torch.", "Train it with PyTorch."),
        # a piece that leaves out one letter is not enough to tell: "vee" is easily lost
        ("Serve the model with the LLM.", "Serve the model with the vLLM."),
    ],
)
def test_looks_never_add_a_piece_of_a_name(text: str, expected: str) -> None:
    vocab = Vocabulary(["TensorRT", "PyTorch", "vLLM"])
    assert vocab.correct(text) == expected


@pytest.mark.parametrize("terms", [["Trio"], ["Trio", "Let's Encrypt"]])
def test_a_run_of_words_never_ends_or_starts_inside_a_word_with_an_apostrophe(terms: list[str]) -> None:
    """The words "Meet me at three o'clock." had become "Meet me at Trio'clock.": "three o"
    was read as Trio, the "o" of "o'clock" taken for a word of its own."""
    vocab = Vocabulary(terms)
    for text in ["Meet me at three o'clock.", "Meet me at Three o'clock.", "Ask O'Brien about trio."]:
        assert vocab.correct(text) == text.replace("trio", "Trio")
        # "Three" alone may be a near miss, as in "World War Three"; "three o" never is
        assert [text[m.start : m.end] for m in vocab.near_misses(text)] in ([], ["Three"])


def test_a_word_with_a_term_in_it_is_left_to_the_audio() -> None:
    """A word that starts or ends with a term and has more letters is another word: names in
    Debian's fortunes ("Lily Tomlin", "Clarence Darrow") had become TOML and Arrow, "a fire
    hydrant" Hydra. It is a near miss now, for the audio to judge; an ending or a number that
    Whisper glued on still reads as the term."""
    vocab = Vocabulary(["Arrow", "TOML", "Hydra", "Spark", "Docker", "Poetry"])
    for ordinary in ["Clarence Darrow met Lily Tomlin.", "Park by the fire hydrant.", "Sparky barked."]:
        assert vocab.correct(ordinary) == ordinary
    assert {m.term for m in vocab.near_misses("Clarence Darrow met Lily Tomlin.")} >= {"Arrow", "TOML"}
    assert vocab.correct("Two dockers and poetry2 run here.") == "Two Dockers and Poetry run here."


def test_a_phrase_whisper_knows_is_no_look_alike_term() -> None:
    """Words Whisper knows, written as a phrase, had become terms on looks (Debian's fortunes
    with the probe set's terms: "New York" NetworkX in 26 sentences, "the old man" Podman in
    9). Such a phrase is a term only when it begins with the term's sound ("pod man",
    "psychic learn"); capitalised, it is a name Whisper heard, not one it did not know."""
    vocab = Vocabulary(["NetworkX", "Podman", "scikit-learn", "pytest"])
    for ordinary in ["We left New York early.", "The old man sighed.", "The Old Man and the Sea."]:
        assert vocab.correct(ordinary) == ordinary
    assert vocab.correct("Run it with pod man.") == "Run it with Podman."
    assert vocab.correct("I fixed the bug in psychic learn.") == "I fixed the bug in scikit-learn."
    assert vocab.correct("I ran pie test on it.") == "I ran pytest on it."
    assert vocab.correct("Draw it with network X.") == "Draw it with NetworkX."
    # the term without its weak first syllable, as Whisper drops it (a flite voice's fresh clip)
    assert (
        Vocabulary(["cibuildwheel"]).correct("Wheels with the build wheel.")
        == "Wheels with the cibuildwheel."
    )


def test_a_rarer_english_word_is_left_to_the_audio() -> None:
    """Rarer English words and names Whisper wrote had become terms on looks ("pottery" Poetry,
    "reeds" Redis, "fleas" Flask, "Voltaire" Altair; Debian's fortunes). They are near misses
    now, for the audio to judge; a plural or singular of the term is still the term."""
    vocab = Vocabulary(["Poetry", "Redis", "Flask", "Docker", "pandas", "Altair"])
    for text, term in [
        ("She sells pottery at the market.", "Poetry"),
        ("The reeds bent in the wind.", "Redis"),
        ("The dog has fleas again.", "Flask"),
        ("Candide was written by Voltaire.", "Altair"),
    ]:
        assert vocab.correct(text) == text
        assert [(m.term, m.deliberate) for m in vocab.near_misses(text)] == [(term, True)], text
    assert vocab.correct("two dockers and a panda") == "two Dockers and a pandas"
    assert Vocabulary(["systemd"]).correct("The System is down.") == "The System is down."
    assert vocab.correct("a pyantic model") == "a pyantic model"  # not English, not a term here


SYMBOL_TERMS = [
    "@property",
    "@types/node",
    "$HOME",
    "~/projects",
    "--verbose",
    "@dataclass",
    "~/.bashrc",
    "__init__",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Written right, they stay as they are: the bare word had matched and was replaced,
        # the symbol left in front ("@@property", "$$HOME", "~/~/projects", "----verbose").
        ("use @property here", "use @property here"),
        ("echo $HOME", "echo $HOME"),
        ("source ~/.bashrc", "source ~/.bashrc"),
        ("cd ~/projects", "cd ~/projects"),
        ("run with --verbose", "run with --verbose"),
        ("@dataclass", "@dataclass"),
        ("install @types/node", "install @types/node"),
        ("def __init__(self):", "def __init__(self):"),
        # The bare word is an ordinary word, or one the speaker said without the symbol.
        ("the property tax is due", "the property tax is due"),
        ("private property", "private property"),
        ("my home folder", "my home folder"),
        ("my projects", "my projects"),
        ("be more verbose", "be more verbose"),
        ("run git init", "run git init"),
        ("edit your .bashrc", "edit your .bashrc"),
        ("open the bashrc", "open the bashrc"),
        ("use dataclass here", "use dataclass here"),
        # The symbol said is the term, and the words that said it go.
        ("use the at dataclass decorator", "use the @dataclass decorator"),
        ("use at property here", "use @property here"),
        ("echo dollar home", "echo $HOME"),
        ("run with dash dash verbose", "run with --verbose"),
        ("define dunder init", "define __init__"),
        ("cd tilde slash projects", "cd ~/projects"),
        ("source tilde slash dot bashrc", "source ~/.bashrc"),
        ("install at types node", "install @types/node"),
    ],
)
def test_a_term_with_a_leading_symbol_needs_its_symbol(text: str, expected: str) -> None:
    vocab = Vocabulary(SYMBOL_TERMS)
    assert vocab.correct(text) == expected
    assert not [m for m in vocab.near_misses(text) if m.term in {"@dataclass", "@property"}]


def test_a_longer_term_read_with_a_shared_letter_wins_over_a_shorter_one() -> None:
    """With PostgreSQL and Postgres both terms, "postgres sequel" gave "Postgres sequel": the
    "s" that ends "postgres" and starts "sequel" is said once, so the run was no reading of
    PostgreSQL ("postgre sequel") and Postgres, spelled, won (real speech gave "Postgres SQL" on
    two voices of four)."""
    vocab = Vocabulary(["PostgreSQL", "Postgres", "SQL", "C", "C++", "Python", "Python 3.12"])
    assert vocab.correct("we use postgres sequel") == "we use PostgreSQL"
    assert vocab.correct("we use Postgres SQL") == "we use PostgreSQL"
    assert vocab.correct("we use postgres and SQL") == "we use Postgres and SQL"
    assert vocab.correct("we use postgres") == "we use Postgres"
    assert vocab.correct("Use c plus plus.") == "Use C++."
    assert vocab.correct("Install python three twelve.") == "Install Python 3.12."


def test_a_term_said_as_everyday_english_is_named_with_that_english() -> None:
    """`vocab add` named terms whose letters are English ("rust"), not those said as English:
    "we see sharp gains" became "we C# gains", "the sequel was better" "the SQL was better",
    "soft and gooey" "soft and GUI". A lower-case twin keeps the words, as it does for Rust."""
    from app.text.ordinary import ordinary_words

    terms = ["Rust", "C#", "SQL", "GUI", "SciPy", "PyPI", "LLM", "pytest", "MySQL"]
    assert ordinary_words(terms, terms) == {
        "Rust": "rust",
        "C#": "see sharp",
        "SQL": "sequel",
        "GUI": "gooey",
    }
    assert ordinary_words(terms, [*terms, "rust", "see sharp", "sequel", "gooey"]) == {}
    vocab = Vocabulary([*terms, "see sharp", "sequel", "gooey"])
    for text in ["we see sharp gains", "the sequel was better", "soft and gooey"]:
        assert vocab.correct(text) == text


def test_an_acronym_whisper_wrote_is_left_to_the_audio() -> None:
    """An acronym Whisper wrote is one it chose: it had become another look-alike term ("GPT"
    gRPC, "CPP" TCP/IP, "EOD" TODO). Only the term's letters or a reading replace it on looks,
    or the term's acronym with one letter Whisper confuses ("RBC" for gRPC, "LLM" for vLLM);
    the rest is left to the audio."""
    vocab = Vocabulary(["gRPC", "gpt-oss", "PyPI", "TCP/IP", "REST", "TODO", "YAML", "vLLM"])
    for text, term in [
        ("I asked GPT-4o about it", "gRPC"),
        ("Our VPC has two subnets", "gRPC"),
        ("We built custom GPTs", "gpt-oss"),
        ("PIP install it", "PyPI"),
        ("compile the CPP files", "TCP/IP"),
        ("It runs on RISC-V", "REST"),
        ("Send it by EOD today", "TODO"),
        ("check the AML file", "YAML"),
    ]:
        assert vocab.correct(text) == text
        assert (term, False) in [(m.term, m.deliberate) for m in vocab.near_misses(text)], text
    for text in ["The KPI went up", "the PPI rose"]:
        assert vocab.correct(text) == text
    assert vocab.correct("talk over the RBC") == "talk over the gRPC"
    assert vocab.correct("serve it with LLM") == "serve it with vLLM"
    # an acronym's last "S" is no plural ending ("HTTP" is no HTTPS); a word's is ("DOCKERS")
    assert Vocabulary(["HTTPS"]).correct("HTTP is a protocol") == "HTTP is a protocol"
    assert Vocabulary(["Docker"]).correct("the DOCKERS") == "the Dockers"


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        (["useState"], "use the state machine", "use the state machine"),
        (["useState"], "the use of state management", "the use of state management"),
        (["useState"], "use a state machine", "use a state machine"),
        (["useState"], "the user state", "the user state"),
        (["useEffect"], "make use of effects", "make use of effects"),
        (["useEffect"], "use an effect", "use an effect"),
        (["useState"], "call use state here", "call useState here"),
        # other small words, and a run that is no common phrase, may still be misheard terms
        (["Kubernetes"], "deploy to cube or net ease", "deploy to Kubernetes"),
        (["scikit-learn"], "fix it in sick it learned", "fix it in scikit-learn"),
        (["requirements.txt"], "the requirement, not the XD", "the requirements.txt"),
        (["Read the Docs"], "host it on read the docs", "host it on Read the Docs"),
        (["LangChain"], "go through land chain", "go through LangChain"),
    ],
)
def test_an_article_or_preposition_inside_common_words_is_a_phrase(
    terms: list[str], text: str, expected: str
) -> None:
    assert Vocabulary(terms).correct(text) == expected


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        (["HTTP/2"], "we switched to HTTP today", "we switched to HTTP today"),
        (["HTTP/2"], "use HTTP too", "use HTTP too"),
        (["HTTP/2"], "they use HTTP", "they use HTTP"),
        (["HTTP/2"], "served over HTTP two", "served over HTTP/2"),
        (["Flake8"], "lint with flake ate", "lint with Flake8"),
        (["Llama 3"], "run llama tree", "run Llama 3"),
        (["GPT-4o"], "ask GPT for oh", "ask GPT-4o"),
        # an acronym heard right, with words that are not the rest of the term
        (["HTTPS"], "use HTTP too", "use HTTP too"),
        (["HTTPS"], "served over HTTP too", "served over HTTP too"),
        (["yamllint"], "run YAML link", "run yamllint"),
    ],
)
def test_words_around_a_terms_name_are_its_number_only_when_they_sound_like_it(
    terms: list[str], text: str, expected: str
) -> None:
    assert Vocabulary(terms).correct(text) == expected


def test_english_words_are_no_near_miss_of_a_term() -> None:
    """The audio's check favours dropping words: "Use the state" became useState."""
    vocab = Vocabulary(["useState", "OAuth", "HTTP/2", "HTTPS"])
    for text in ["Use the state machine for the form.", "oh, auth failed", "we use HTTP too"]:
        assert [m.term for m in vocab.near_misses(text)] in ([], ["useState"]), text
    assert vocab.near_misses("Use the state machine for the form.") == []


def test_a_comma_after_a_small_word_ends_a_phrase() -> None:
    vocab = Vocabulary(["onClick", "OAuth", "uv", "Talk Python To Me", "LaunchDarkly"])
    for text in ["on, click the button", "oh, auth failed", "I told you, v is next"]:
        assert vocab.correct(text) == text
    # a comma Whisper put inside a term it misheard, after a word of its own
    assert vocab.correct("This week on talk, Python To Me") == "This week on Talk Python To Me"
    assert vocab.correct("flags in launch, darkly") == "flags in LaunchDarkly"
    assert vocab.correct("on click the button") == "onClick the button"
