"""Secrets kept out of a staged diff before a model (perhaps a cloud one) and the reply cache see it.

commit mode sends ``git diff --staged`` with the dictation. A staged ``.env`` or settings file
is described by its names, not its values: words shaped like API keys and the password of a
URL (``postgres://admin:(hidden)@db.example.com/prod``) are masked (:func:`app.redact.redact_keys`:
keys by their shape, and the user's own keys by their value), the values of lines that set a
secret are hidden, and so are private key blocks. A name is a secret's when one of its
parts is a secret's word, or when it ends in one that is a secret's at the end (``MISTRAL_KEY``,
``db_pass``), so that ``GITHUB_TOKEN``, ``clientSecret`` and ``"Authorization":`` lose their
values and ``tokenizer``, ``authors``, ``max_tokens`` and ``sort_key`` keep theirs. A secret's
word glued to another ends a part of the name (``PGPASSWORD``, ``dbpasswd``, ``GITHUBTOKEN`` at
the name's end). A password given to a command is hidden too: ``--password VALUE``,
``--db-password=VALUE``, and mysql's ``-pVALUE``.
"""

from __future__ import annotations

import itertools
import re

from app.redact import HIDDEN, redact_keys

# A name's parts that make it a secret's wherever they stand in it ("DB_PASSWORD", "secret_name").
_SECRET_PARTS = frozenset(
    {
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "apikey",
        "privatekey",
        "accesskey",
        "secretkey",
    }
)
# Two parts that do so together ("api_key", "AWS_ACCESS_KEY", "privateKey"), also before
# more parts ("private_token_value", "accessTokenString").
_SECRET_PAIRS = frozenset(
    {
        *((kind, "key") for kind in ("api", "private", "access", "secret")),
        *((kind, "token") for kind in ("api", "private", "access", "refresh", "bearer")),
    }
)
# A part that does so only at the name's end: "GITHUB_TOKEN", "authToken", "MISTRAL_KEY",
# "db_pass", "smtpPwd", but not "token_count", "key_path" or "pass_count".
_SECRET_ENDS = frozenset({"token", "pat", "key", "keys", "pass", "pwd", "pw", "passcode"})
# Words that make a name a secret's when they end one of its parts, glued to another word
# ("PGPASSWORD", "dbpasswd", "MYAPIKEY", "appsecret"); not "auth" ("authors" is none).
_GLUED_PARTS = ("password", "passwd", "passphrase", "secret", "apikey")
# Glued words that do so only at the name's end ("GITHUBTOKEN"; "tokenizer" is none).
_GLUED_ENDS = ("token",)
# Names ending so that hold no secret (their last parts): the keys of sorting, tables and
# dicts, public keys, a shell's working folder, a bare "key" ("key=len", "self.key = key",
# Holdtype's own hotkey "key = 'f9'"). A random-looking value still hides (_RANDOM_VALUE).
_NOT_SECRET_ENDS = frozenset(
    {
        ("key",),
        ("keys",),
        ("pwd",),
        ("oldpwd",),
        *((kind, "key") for kind in ("sort", "primary", "foreign", "partition", "unique", "composite")),
        *((kind, "key") for kind in ("cache", "dict", "lookup", "group", "hash", "row", "index")),
        *((kind, "key") for kind in ("public", "shortcut", "translation", "message")),
        *((kind, "keys") for kind in ("sort", "primary", "foreign", "dict", "public")),
        *((kind, "pass") for kind in ("first", "second", "third", "final", "single", "two", "multi")),
    }
)
# A name, then ':' or '=' and a value (not '==', not nothing): "API_KEY=", '"password": '.
_SETTING = re.compile(r"([\w.-]+)[\"']?\s*[:=]\s*(?![\s,;)\]}=]|$)")
# A value that is no secret whatever the name: "sort_keys=True", "first_pass = False".
_PLAIN_VALUE = re.compile(r"(?:True|False|None|true|false|null|nil)(?![\w.])")
# A value that looks random (a key, a password): 16 or more letters and digits, both in it, in
# quotes or bare, alone ("key: aB3dE5fG7hI9jK1l", not "key = cache_key(text)").
_RANDOM_VALUE = re.compile(r"([\"']?)(?=[\w+/=.-]*\d)(?=[\w+/=.-]*[A-Za-z])[\w+/=.-]{16,}\1\s*(?:[,;)\]}]|$)")
# A password given to a command as an option: "--password VALUE", "--db-password=VALUE",
# "--token VALUE" (not "--password-stdin", not a following option).
_OPTION_SECRET = re.compile(
    r"((?<![\w-])--(?:[A-Za-z0-9]+-)*(?:password|passwd|pass|token|secret|api-?key)(?:=|[ \t]+))"
    r"(?!-)(\"[^\"]*\"|'[^']*'|\S+)",
    re.IGNORECASE,
)
# mysql's tools take the password glued to -p ("mysql -u root -phunter2 db"; "-p" alone asks).
_MYSQL_PASSWORD = re.compile(
    r"(\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mariadb(?:-\w+)?)"
    r"\b[^\n|;&]*?[ \t]-p)(\"[^\"]*\"|'[^']*'|[^\s\"']+)"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)


def name_parts(name: str) -> list[str]:
    """``name`` cut into lower-case words at '_', '-', '.' and camelCase humps.

    >>> name_parts("AWS_SECRET_ACCESS_KEY"), name_parts("clientAPIKey"), name_parts("max-tokens")
    (['aws', 'secret', 'access', 'key'], ['client', 'api', 'key'], ['max', 'tokens'])
    """
    humps = re.sub(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])", r"\1\3 \2\4", name)
    return [part.lower() for part in re.split(r"[\s_.\-]+", humps) if part]


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (see the module's docstring).

    >>> [is_secret_name(n) for n in ("OPENAI_API_KEY", "apiToken", "tokenizer", "authors")]
    [True, True, False, False]
    >>> [is_secret_name(n) for n in ("MISTRAL_KEY", "db_pass", "sort_key", "primaryKey", "key")]
    [True, True, False, False, False]
    >>> [is_secret_name(n) for n in ("PGPASSWORD", "MYSQL_ROOTPASSWD", "GITHUBTOKEN", "tokenizer_name")]
    [True, True, True, False]
    """
    parts = name_parts(name)
    if not parts:
        return False
    if any(part in _SECRET_PARTS or part.endswith(_GLUED_PARTS) for part in parts):
        return True
    if parts[-1].endswith(_GLUED_ENDS):
        return True
    if _ends_like_a_secret(name):
        last = name_parts(name.rsplit(".", 1)[-1])  # ("self.key": an attribute named key)
        return tuple(last[-2:]) not in _NOT_SECRET_ENDS and tuple(last) not in _NOT_SECRET_ENDS
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts))


def _ends_like_a_secret(name: str) -> bool:
    """Whether ``name``'s last part is one that makes a secret's name at its end ("db_pass",
    also "sort_key": :func:`is_secret_name` says which of these are none)."""
    last = name_parts(name.rsplit(".", 1)[-1])
    return bool(last) and last[-1] in _SECRET_ENDS


def _hide_setting(line: str) -> str:
    """A diff line with the value of the first secret it sets hidden (the rest of the line)."""
    if line[:1] not in ("+", "-", " "):
        return line
    line = _OPTION_SECRET.sub(rf"\1{HIDDEN}", line)
    line = _MYSQL_PASSWORD.sub(rf"\1{HIDDEN}", line)
    for match in _SETTING.finditer(line, 1):
        if _PLAIN_VALUE.match(line, match.end()):  # ("sort_keys=True": no secret to hide)
            continue
        end = len(line) - 1 if line.endswith("\r") else len(line)
        if is_secret_name(match[1]) or (
            _ends_like_a_secret(match[1]) and _RANDOM_VALUE.match(line, match.end(), end)
        ):
            return line[: match.end()] + HIDDEN + line[end:]
    return line


def hide_secrets(diff: str) -> str:
    """``diff`` with the secrets it shows hidden: the user's own keys and words shaped like
    API keys, the values of lines that set a secret ("OPENAI_API_KEY=...", "password: ..."),
    private key blocks, the passwords of URLs.

    >>> print(hide_secrets("+DEBUG=1\\n+OPENAI_API_KEY=abc123\\n-  password: 'hunter2'"))
    +DEBUG=1
    +OPENAI_API_KEY=(hidden)
    -  password: (hidden)
    >>> hide_secrets("+def token_count(text):\\n+tokenizer = 'bpe'")
    "+def token_count(text):\\n+tokenizer = 'bpe'"
    >>> hide_secrets("+docker login -u bob --password s3cr3t && mysql -u root -phunter2 db")
    '+docker login -u bob --password (hidden) && mysql -u root -p(hidden) db'
    >>> hide_secrets("+DATABASE_URL = 'postgres://admin:pw@db.example.com/prod'")
    "+DATABASE_URL = 'postgres://admin:(hidden)@db.example.com/prod'"
    """
    diff = _PRIVATE_KEY.sub(lambda m: f"-----BEGIN {m[1]}----- {HIDDEN}", redact_keys(diff))
    return "\n".join(_hide_setting(line) for line in diff.split("\n"))
