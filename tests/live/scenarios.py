"""Scenario text for the live tests: one ``[[requests]]`` table at a time."""

from __future__ import annotations


def request(name: str, path: str, method: str = "GET", weight: float = 1, timeout_ms: float = 5000,
            body: str | None = None) -> str:
    text = f'[[requests]]\nname = "{name}"\nmethod = "{method}"\npath = "{path}"\nweight = {weight}\n'
    text += f"timeout_ms = {timeout_ms}\n"
    if body is not None:
        text += f"body = '{body}'\n"
    return text
