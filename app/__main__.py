"""Allow ``python -m app`` as an alias of the ``holdtype`` command."""

from app.cli import main

if __name__ == "__main__":
    main()
