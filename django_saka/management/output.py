"""What every saka_* command prints the same way: times, and timestamped log lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, OutputWrapper

from .. import clock
from ..clock import local_timestamp

_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def format_time(moment: Any, *, never: str = "never") -> str:
    """A stored datetime in the project's TIME_ZONE without microseconds; ``never`` for None."""
    return never if moment is None else local_timestamp(moment)


class TimestampedOutput(OutputWrapper):
    """Starts every line with the current local time when the stream is not a terminal.

    Cron mails, task-queue logs and ``>> file`` redirections keep no time of their own,
    so a line without one cannot be placed after the fact; a person at a terminal
    does not need it.
    """

    def __init__(self, wrapped: OutputWrapper) -> None:
        # django-stubs do not declare OutputWrapper._out (the wrapped stream), so it
        # reads as OutputWrapper.__getattr__'s callable.
        super().__init__(wrapped._out, wrapped.ending)  # type: ignore[arg-type]
        self._style_func = wrapped._style_func
        self._at_line_start = True

    # OutputWrapper.write's own signature: the stubs make OutputWrapper a TextIOBase
    # (Django 6.1's is not), whose write(s) -> int it does not follow either.
    def write(  # type: ignore[override]
        self,
        msg: str = "",
        style_func: Callable[[str], str] | None = None,
        ending: str | None = None,
    ) -> None:
        ending = self.ending if ending is None else ending
        if ending and not msg.endswith(ending):
            msg += ending
        if not self.isatty():
            msg = self._stamped(msg)
        super().write(msg, style_func, ending="")

    def _stamped(self, text: str) -> str:
        stamp = local_timestamp(clock.now())
        lines = []
        for line in _LINES.findall(text):
            lines.append(f"{stamp} {line}" if self._at_line_start else line)
            self._at_line_start = line.endswith("\n")
        return "".join(lines)


class SakaCommand(BaseCommand):
    """Base of the saka_* commands: stdout and stderr lines are timestamped off a terminal."""

    def execute(self, *args: Any, **options: Any) -> Any:
        # Done here rather than in __init__ because call_command(stdout=...) hands the
        # streams to execute(), which would otherwise wrap them in a plain OutputWrapper.
        for name in ("stdout", "stderr"):
            stream = options.pop(name, None)
            wrapper = OutputWrapper(stream) if stream else getattr(self, name)
            if not isinstance(wrapper, TimestampedOutput):
                wrapper = TimestampedOutput(wrapper)
            setattr(self, name, wrapper)
        return super().execute(*args, **options)
