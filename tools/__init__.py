"""Helper scripts of the Makefile (set-up checks, the browser for the book's browser test); not part of attnlab."""
