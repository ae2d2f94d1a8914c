"""What an API key looks like: a provider's prefix and a long run of key characters, or another
service's token in its whole form. Kept apart from the settings (:mod:`app.config`) so that
everything that tells a key by its shape (the settings' checks, llm's key store, the masking of
messages and logs) can use it, whatever imports what.
"""

from __future__ import annotations

import re

# The key formats of the providers llm's plugins reach: OpenAI and DeepSeek (sk-, sk-proj-),
# Anthropic (sk-ant-), OpenRouter (sk-or-), Groq (gsk_), xAI (xai-), Google (AIza), Hugging Face
# (hf_), Replicate (r8_), Perplexity (pplx-), GitHub (ghp_, github_pat_, and its OAuth, user,
# server and refresh tokens gho_, ghu_, ghs_, ghr_). No model id starts so.
KEY_PREFIXES = (
    "sk-",
    "gsk_",
    "xai-",
    "AIza",
    "hf_",
    "r8_",
    "pplx-",
    "ghp_",
    "github_pat_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
)
_KEY_MIN_LENGTH = 20
#: Tokens of other services that code and settings files hold, each known by its prefix and
#: its whole form (the prefix alone also starts ordinary names: "npm_config_cache",
#: "sk_test_utils"): Stripe's secret and restricted keys, GitLab's personal access tokens,
#: AWS access key ids, Slack's tokens, npm's tokens, SendGrid's keys ("SG.", two dotted parts).
TOKEN_FORM = re.compile(
    r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}"
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|xox[abprse]-[0-9]+-[A-Za-z0-9-]{10,}"
    r"|npm_[A-Za-z0-9]{36})"
    r"(?![A-Za-z0-9_-])"
)
#: A word that may be a key: a known prefix, then a run of key characters, or a token in its
#: form (:data:`TOKEN_FORM`), wherever it stands in a sentence (in quotes, after ``=`` or a
#: colon, before a full stop).
KEY_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9_-])(?:(?:"
    + "|".join(map(re.escape, KEY_PREFIXES))
    + r")[A-Za-z0-9_-]+|"
    + TOKEN_FORM.pattern
    + ")"
)
#: Every word :data:`KEY_CANDIDATE` finds holds one of these (a quick test before the pattern).
KEY_MARKS = ("-", "_", "AIza", "AKIA", "ASIA", "SG.")


def looks_like_api_key(value: str) -> bool:
    """Whether ``value`` has the shape of a provider's API key (a known prefix, then a long run
    of letters, digits, ``-`` and ``_``, no spaces, dots or slashes), or is another service's
    token in its form (:data:`TOKEN_FORM`).

    >>> looks_like_api_key("sk-proj-" + "Ab3" * 16), looks_like_api_key("  gsk_" + "x" * 40 + " ")
    (True, True)
    >>> looks_like_api_key("gpt-4o-mini"), looks_like_api_key("sk-model"), looks_like_api_key("hf_org/x" * 4)
    (False, False, False)
    >>> looks_like_api_key("AKIAIOSFODNN7EXAMPLE"), looks_like_api_key("npm_config_registry_url")
    (True, False)
    """
    token = value.strip()
    return bool(TOKEN_FORM.fullmatch(token)) or (
        token.startswith(KEY_PREFIXES)
        and len(token) >= _KEY_MIN_LENGTH
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)
    )
