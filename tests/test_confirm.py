"""Near misses of the user's terms, confirmed (or not) by what the audio says.

The vocabulary finds runs of words that look somewhat like a term (pure text); the real
embedded tiny.en model then judges, on speech espeak-ng makes here, whether the audio says the
term. The misreadings ("Yolumi", "BIP") are ones tiny.en wrote on our jargon clips, written
into the transcript by hand so that each test does not depend on a decode going wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.bench.jargon import held
from app.config import ModelSettings, VocabularySettings
from app.text.pipeline import TextPipeline
from app.text.vocabulary import NEAR_MISS_BAR, NearMiss, Vocabulary
from app.transcribe.audiofile import SAMPLE_RATE, load_audio
from app.transcribe.whisper import LONG_FORM_S, DecodeOptions, WhisperTranscriber
from tests.fixtures.speech import Speak


def _spans(vocabulary: Vocabulary, text: str) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.term) for m in vocabulary.near_misses(text)]


def test_a_made_up_word_like_a_term_is_a_near_miss() -> None:
    vocabulary = Vocabulary(["Pulumi", "Ansible"])
    text = "The cluster is provisioned with Yolumi."
    assert vocabulary.correct(text) == text  # too unlike Pulumi to be replaced on looks alone
    assert _spans(vocabulary, text) == [("Yolumi", "Pulumi")]
    assert all(m.score >= NEAR_MISS_BAR for m in vocabulary.near_misses(text))


def test_short_terms_have_near_misses_too() -> None:
    assert ("BIP", "pip") in _spans(Vocabulary(["pip", "conda"]), "Install the package with BIP.")
    # An acronym's letter-by-letter reading counts: "telelm" is "(discuss)ed el el em".
    assert ("telelm", "LLM") in _spans(Vocabulary(["LLM"]), "We discuss telelm building blocks.")


def test_a_common_word_is_never_a_near_miss() -> None:
    # "radio" is what Whisper heard and wrote as a word; only correct()'s exact readings
    # may replace it.
    assert _spans(Vocabulary(["Gradio"]), "The dashboard runs on radio tonight.") == []


def test_what_correct_fixes_is_not_a_near_miss() -> None:
    vocabulary = Vocabulary(["pytest"])
    text = "Run pie test before you push."
    assert vocabulary.correct(text) == "Run pytest before you push."
    assert ("pie test", "pytest") not in _spans(vocabulary, text)


def test_words_correct_gives_one_term_are_no_near_miss_of_another() -> None:
    # "Alama" looks enough like Ollama for correct(); it is also somewhat like LLM. Left to the
    # audio, tiny.en (LLM just before in the sentence) once preferred LLM: the looks decide.
    vocabulary = Vocabulary(["LLM", "Ollama", "OpenRouter"])
    text = "The LLM library has plugins for Alama and OpenRouter."
    assert vocabulary.correct(text) == "The LLM library has plugins for Ollama and OpenRouter."
    assert _spans(vocabulary, text) == []
    assert ("Alama", "LLM") in _spans(Vocabulary(["LLM", "OpenRouter"]), text)


def test_words_that_spell_a_term_are_never_swallowed() -> None:
    # "GitHub Actions builds" looks like GitHub Actions, but its first two words already are it.
    vocabulary = Vocabulary(["GitHub Actions", "cibuildwheel"])
    text = "The workflow in GitHub Actions builds the wheels."
    assert all("GitHub" not in text[m.start : m.end] for m in vocabulary.near_misses(text))


def test_words_around_a_term_correct_writes_are_no_near_miss_of_it() -> None:
    # tiny.en read "point it at PostgreSQL" as "void it at POSTGR SQL": correct() writes its
    # last two words as the term. The whole run, or "POSTGR" alone, checked against the audio
    # as PostgreSQL would drop "void it at" (fewer tokens score higher) or write it twice.
    vocabulary = Vocabulary(["Kubernetes", "PostgreSQL"])
    text = "Deploy the container to Kubernetes and void it at POSTGR SQL."
    assert vocabulary.correct(text) == "Deploy the container to Kubernetes and void it at PostgreSQL."
    assert [term for _, term in _spans(vocabulary, text)] == []


def test_near_misses_are_capped_most_alike_first() -> None:
    vocabulary = Vocabulary(["Pulumi", "Vitest", "Svelte"])
    text = "Yolumi and Smelt and Vidys"
    misses = vocabulary.near_misses(text, limit=2)
    assert len(misses) == 2
    assert misses[0].score >= misses[1].score
    assert vocabulary.near_misses(text, limit=0) == []


def test_a_piece_of_a_term_written_alone_is_a_near_miss() -> None:
    """tiny.en, shown NumPy in its prompt, writes "them Py" for it: the piece and the word on
    the side of the missing part are a near miss, whatever they look like."""
    vocabulary = Vocabulary(["NumPy", "PyTorch", "GraphQL", "pandas"])
    assert ("them Py", "NumPy") in _spans(vocabulary, "Install them Py and pandas.")
    assert ("Py and", "PyTorch") in _spans(vocabulary, "Install them Py and pandas.")
    assert ("Strav QL", "GraphQL") in _spans(vocabulary, "Query it with Strav QL today.")
    assert _spans(vocabulary, "Install them py and pandas.") == []  # not written as the piece
    assert ("the Torch", "PyTorch") not in _spans(vocabulary, "Light the Torch.")  # a piece that is a word
    assert _spans(Vocabulary(["FastAPI"]), "Call the new API today.") == []  # a name Whisper knows
    # Words that already spell a term are never swallowed.
    assert ("pandas Py", "NumPy") not in _spans(Vocabulary(["NumPy", "pandas"]), "pandas Py")
    # Nor is a run correct() writes as another term on looks alone: "sigh Py" is SciPy.
    assert ("sigh Py", "NumPy") not in _spans(Vocabulary(["NumPy", "SciPy"]), "Import sigh Py today.")


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    """The real embedded tiny.en model, loaded once for this module."""
    model = WhisperTranscriber(ModelSettings())
    model.load()
    return model


def _pipeline(terms: list[str], autocorrect: bool = True) -> TextPipeline:
    return TextPipeline(VocabularySettings(terms=terms, autocorrect=autocorrect), [])


@pytest.mark.slow
def test_whisper_scores_what_was_said_above_what_was_not(speak: Speak, whisper: WhisperTranscriber) -> None:
    audio = load_audio(speak("Install the package with pip before you start."))
    scores = whisper.score_texts(
        audio,
        [
            "Install the package with pip before you start.",
            "Uninstall the garage with a kit before you start.",
        ],
    )
    assert scores is not None and len(scores) == 2
    assert scores[0] > scores[1]
    assert all(s < 0 for s in scores)  # log-probabilities


@pytest.mark.slow
def test_audio_past_one_window_is_not_scored(whisper: WhisperTranscriber) -> None:
    long = np.zeros(int((LONG_FORM_S + 1) * SAMPLE_RATE), np.float32)
    assert whisper.score_texts(long, ["anything"]) is None


class _CountingVocabulary(Vocabulary):
    """The real vocabulary, counting how often near misses are looked for (a spy, no fake)."""

    looked = 0

    def near_misses(self, text: str, limit: int = 4) -> list[NearMiss]:
        self.looked += 1
        return super().near_misses(text, limit)


def test_near_misses_are_not_looked_for_in_audio_past_one_window(whisper: WhisperTranscriber) -> None:
    # Nothing can score them there: looking cost 7 s in an hour's transcript with 60 terms.
    pipeline = TextPipeline(VocabularySettings(terms=["Pulumi", "Ansible"]), [])
    pipeline.vocabulary = spy = _CountingVocabulary(["Pulumi", "Ansible"])
    heard = "The cluster is provisioned with Yolumi."
    short = np.zeros(int(5 * SAMPLE_RATE), np.float32)
    pipeline.confirm(whisper, short, heard)
    assert spy.looked == 1  # (within one window, it is looked for)
    long = np.zeros(int((LONG_FORM_S + 1) * SAMPLE_RATE), np.float32)
    assert pipeline.confirm(whisper, long, heard) == heard
    assert spy.looked == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "terms", "heard", "expected"),
    [
        (
            "The cluster is provisioned with Pulumi.",
            ["Pulumi", "Ansible", "Terraform"],
            "The cluster is provisioned with Yolumi.",
            "The cluster is provisioned with Pulumi.",
        ),
        (
            "Install the package with pip.",
            ["pip", "conda"],
            "Install the package with BIP.",
            "Install the package with pip.",
        ),
        (  # a piece of the term written alone, and the word before it; not SciPy, not PyTorch
            "Import NumPy and plot the results.",
            ["NumPy", "SciPy", "PyTorch"],
            "Import them Py and plot the results.",
            "Import NumPy and plot the results.",
        ),
        (  # an acronym read letter by letter, run into the word before it
            "This week we discussed LLM building blocks.",
            ["LLM", "Ollama"],
            "This week we discuss telelm building blocks.",
            "This week we discuss LLM building blocks.",
        ),
        (  # only 67 % like pytest by sound key
            "Run pytest with coverage and upload the report.",
            ["pytest", "pandas", "Pydantic"],
            "Run Midest with coverage and upload the report.",
            "Run pytest with coverage and upload the report.",
        ),
        (
            "The mobile client queries GraphQL through Apollo.",
            ["GraphQL", "Apollo"],
            "The mobile client queries Strav QL through Apollo.",
            "The mobile client queries GraphQL through Apollo.",
        ),
        (  # a common word capitalised as a name: looks alone no longer make it the term
            "Errors from the web app go to Sentry now.",
            ["Sentry", "Celery"],
            "Errors from the web app go to Century now.",
            "Errors from the web app go to Sentry now.",
        ),
        (  # likewise: the audio finds the term likelier than the word (see test below)
            "We store settings in TOML now.",
            ["TOML", "Trio"],
            "We store settings in Tom now.",
            "We store settings in TOML now.",
        ),
    ],
)
def test_the_audio_confirms_a_misheard_term(
    speak: Speak, whisper: WhisperTranscriber, said: str, terms: list[str], heard: str, expected: str
) -> None:
    pipeline = _pipeline(terms)
    audio = load_audio(speak(said))
    assert pipeline.confirm(whisper, audio, heard) == expected
    assert pipeline.finish(whisper, audio, heard) == expected


@pytest.mark.slow
def test_of_two_near_misses_the_audio_confirms_the_more_alike_wins(
    speak: Speak, whisper: WhisperTranscriber
) -> None:
    # "put Tritic" holds two near misses: "Tritic" of Triton, "put Tritic" of Pydantic. The
    # audio (Traefik, a term the user does not have) finds both likelier than Whisper's words,
    # Pydantic the more so (one token fewer, and a name tiny.en likes): it would swallow "put".
    pipeline = _pipeline(["vLLM", "Triton", "Pydantic"])
    heard = "Serve the model with vLLM and put Tritic in front of it."
    assert {m.term for m in pipeline.vocabulary.near_misses(heard)} == {"Triton", "Pydantic"}
    audio = load_audio(speak("Serve the model with vLLM and put Traefik in front of it.", voice="en-us+f2"))
    confirmed = pipeline.confirm(whisper, audio, heard)
    assert confirmed == "Serve the model with vLLM and put Triton in front of it."


@pytest.mark.slow
@pytest.mark.parametrize("said", ["Mojo", "Modal"])
def test_of_two_terms_about_as_like_the_same_words_the_audio_picks(
    speak: Speak, whisper: WhisperTranscriber, said: str
) -> None:
    # tiny.en wrote "Modo" for Mojo: 0.83 like Modal, 0.80 like Mojo, too close for the looks
    # to say which; both readings pass the margin, and the likelier is what was said.
    pipeline = _pipeline(["Mojo", "Modal", "Cython"])
    heard = "We ported the hot loop to Modo to see if it beats the old version."
    misses = pipeline.vocabulary.near_misses(heard)
    assert {m.term for m in misses} == {"Mojo", "Modal"}
    assert {(m.start, m.end) for m in misses} == {(26, 30)}
    audio = load_audio(speak(f"We ported the hot loop to {said} to see if it beats the old version."))
    assert pipeline.confirm(whisper, audio, heard) == heard.replace("Modo", said)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "terms"),
    [
        ("We bought a new Mac last week.", ["macOS", "Linux"]),
        # a common word capitalised as a name: a near miss, since looks alone no longer decide
        ("The Great Spirit made the rivers.", ["Pyright", "Helm"]),
        # a name that sounds nearly like the term: nearly as likely is not enough for a word
        # Whisper wrote on purpose (TOML scored -0.4 and -1.8 here)
        ("I talked to Tom about the release.", ["TOML", "Trio"]),
        ("Ask Tom for the keys.", ["TOML"]),
    ],
)
def test_a_name_that_only_looks_like_a_term_stays(
    speak: Speak, whisper: WhisperTranscriber, said: str, terms: list[str]
) -> None:
    pipeline = _pipeline(terms)
    assert pipeline.vocabulary.near_misses(said), "the sentence should hold a near miss to check"
    audio = load_audio(speak(said))
    assert pipeline.confirm(whisper, audio, said) == said
    assert pipeline.finish(whisper, audio, said) == said


def test_a_name_whisper_knows_is_no_near_miss() -> None:
    """A name Whisper knows ("Wilson": one token, two in lower case) is what it heard: no near
    miss of JSON, so the audio is never asked (it once was, and kept the name)."""
    pipeline = _pipeline(["JSON", "Ollama"])
    assert pipeline.vocabulary.near_misses("Simon Wilson wrote the library.") == []


@pytest.mark.slow
def test_nothing_is_confirmed_with_auto_correction_off(speak: Speak, whisper: WhisperTranscriber) -> None:
    heard = "The cluster is provisioned with Yolumi."
    audio = load_audio(speak("The cluster is provisioned with Pulumi."))
    assert _pipeline(["Pulumi"], autocorrect=False).confirm(whisper, audio, heard) == heard


class TranscribeOnly:
    """A real transcriber seen through the bare Transcriber interface: one that cannot score
    texts (a remote speech server, say) must leave the transcript as Whisper wrote it."""

    def __init__(self, inner: WhisperTranscriber) -> None:
        self._inner = inner

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, cancel: object = None) -> object:
        return self._inner.transcribe(audio, options)


@pytest.mark.slow
def test_a_transcriber_that_cannot_score_leaves_the_text(speak: Speak, whisper: WhisperTranscriber) -> None:
    heard = "The cluster is provisioned with Yolumi."
    audio = load_audio(speak("The cluster is provisioned with Pulumi."))
    assert _pipeline(["Pulumi"]).confirm(TranscribeOnly(whisper), audio, heard) == heard  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "voice", "terms", "term"),
    [
        # tiny.en writes "BIP" and "Smelt" here, too unlike the terms to be fixed on looks
        # alone, with oneDNN's AVX2 and its AVX-512 int8 kernels alike. Some clips read
        # differently on the two ("... while Bokeh suits" is "mokeh suits" with AVX2, "OK
        # through" with AVX-512); ONEDNN_MAX_CPU_ISA=AVX2 runs the first on a newer CPU.
        ("Create a conda environment and install the package with pip.", "en-us", ["conda", "pip"], "pip"),
        (
            "The backend streams events over WebSockets to the Svelte client.",
            "en-gb+f3",
            ["WebSockets", "Svelte"],
            "Svelte",
        ),
    ],
)
def test_dictated_jargon_comes_out_spelled_right(
    speak: Speak, whisper: WhisperTranscriber, said: str, voice: str, terms: list[str], term: str
) -> None:
    pipeline = _pipeline(terms)
    audio = load_audio(speak(said, voice=voice))
    heard = pipeline.transcribe(whisper, audio, DecodeOptions()).text
    text = pipeline.finish(whisper, audio, heard)
    assert term in text.replace(".", " ").split(), f"Whisper heard {heard!r}, the pipeline gave {text!r}"


@pytest.mark.slow
def test_live_dictation_checks_in_the_pause_and_the_release_reuses_it(
    speak: Speak, whisper: WhisperTranscriber
) -> None:
    # The key held over the sentence and a pause after it, the audio fed as it arrives: the
    # pause decode's text is checked while the key is still down, and the release, which finds
    # the same text, takes that answer instead of asking the audio again.
    pipeline = _pipeline(["conda", "pip"])
    clean = load_audio(speak("Create a conda environment and install the package with pip.", voice="en-us"))
    audio = held(clean)
    streaming = pipeline.streaming(whisper, DecodeOptions())
    step = int(0.1 * SAMPLE_RATE)
    for end in range(step, len(audio) + 1, step):
        streaming.feed(audio[:end])
    checks_in_pause = pipeline.confirm_checks
    heard = streaming.finish(audio).text
    assert streaming.finish_decoded is False, "the release should have found the pause's text final"
    assert pipeline.vocabulary.near_misses(heard), f"expected a near miss in {heard!r}"
    assert checks_in_pause == 1
    text = pipeline.finish(whisper, audio, heard)
    assert pipeline.confirm_checks == 1, "the release asked the audio again"
    assert "pip" in text.replace(".", " ").split(), f"Whisper heard {heard!r}, the pipeline gave {text!r}"


@pytest.mark.slow
def test_a_remembered_check_is_only_reused_for_the_same_audio(
    speak: Speak, whisper: WhisperTranscriber
) -> None:
    pipeline = _pipeline(["Pulumi"])
    heard = "The cluster is provisioned with Yolumi."
    said = load_audio(speak("The cluster is provisioned with Pulumi."))
    other = load_audio(speak("The cluster is provisioned with Pulumi.", voice="en-gb"))
    assert pipeline.confirm(whisper, said, heard).endswith("Pulumi.")
    assert pipeline.confirm(whisper, said, heard).endswith("Pulumi.")
    assert pipeline.confirm_checks == 1
    pipeline.confirm(whisper, other, heard)
    assert pipeline.confirm_checks == 2


def test_a_term_split_by_a_comma_after_a_small_word_is_a_near_miss() -> None:
    """From a review: under the prompt Whisper wrote "set up, tools" for setuptools in three
    voices of three. A comma after a small word is no term on looks ("turn it on, click save"
    is no onClick), so the audio is asked."""
    vocabulary = Vocabulary(["setuptools", "onClick"])
    for text, term in (
        ("Pin set up, tools in the file.", "setuptools"),
        ("Turn it on, click save.", "onClick"),
    ):
        assert vocabulary.correct(text) == text
        assert [m.term for m in vocabulary.near_misses(text)] == [term], text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "heard", "expected"),
    [
        (
            "Pin set up tools in the project file.",
            "Pin set up, tools in the project file.",
            "Pin setuptools in the project file.",
        ),
        ("Turn it on, click save.", "Turn it on, click save.", "Turn it on, click save."),
    ],
)
def test_the_audio_tells_a_term_from_words_split_by_a_comma(
    speak: Speak, whisper: WhisperTranscriber, said: str, heard: str, expected: str
) -> None:
    pipeline = _pipeline(["setuptools", "onClick"])
    audio = load_audio(speak(said))
    assert pipeline.confirm(whisper, audio, heard) == expected
