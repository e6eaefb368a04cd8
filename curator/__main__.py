"""`python -m curator`."""

from .cli import main

main()
