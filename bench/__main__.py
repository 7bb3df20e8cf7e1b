"""`python -m bench` (or `make bench`) runs every benchmark."""

from bench import mha

mha.main()
