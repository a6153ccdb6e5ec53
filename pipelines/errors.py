"""Errors a user can act on: one line of message plus a hint; `hpw` prints both and exits non-zero."""

from __future__ import annotations


class UserError(RuntimeError):
    def __init__(self, message: str, hint: str = ""):
        self.hint = hint
        super().__init__(message)
