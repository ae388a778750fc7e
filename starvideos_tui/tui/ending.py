"""How the TUI ends when told to (SIGTERM, SIGHUP) or when its terminal goes away, within
a second or two whatever it is doing, start-up included.

Textual's own ending cannot be relied on once the terminal is gone: its output thread
dies on the first write that fails (EIO), the next writes fill its queue, and the loop
then blocks for ever putting the "leave the screen" sequence on that queue. A handler
that asyncio runs on the loop (`loop.add_signal_handler`) never runs after that, so
SIGTERM did nothing: an orphan with three threads in a futex wait, ended only by kill -9.

So nothing here depends on the loop:
- SIGTERM and SIGHUP get handlers of our own, and `signal.set_wakeup_fd` writes each
  signal's number to a pipe even when the main thread never gets back to Python;
- a watchdog thread reads that pipe and, four times a second, asks the terminal whether
  it is still there (a hung-up tty answers EIO);
- told to end, it asks the app to exit (thread-safely, through the loop) and, if the
  process is still alive `grace` seconds later, runs the rescue steps (the queued
  watchlist changes, the demo's clean-up; `rescue` seconds at most), gives the terminal
  back if it is still there and ends the process: `os._exit(128 + signum)`.

A terminal that went away without a signal counts as SIGHUP (exit 129).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

GRACE = 1.4  # seconds the app has to end by itself after the signal
RESCUE = 0.5  # seconds the last resort gives the watchlist and the clean-up
LOOK_EVERY = 0.25  # seconds between looks at the terminal
SIGNALS = (signal.SIGTERM, signal.SIGHUP)
# What Textual's driver turns on, turned off: the kitty keyboard protocol, the alternate
# screen, the hidden cursor, focus events, mouse tracking, bracketed paste, no line wrap.
GIVE_BACK = (
    "\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l"
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?7h"
)


def terminal_gone(fds: Sequence[int]) -> bool:
    """True when the terminal behind any of `fds` hung up (its tty answers EIO)."""
    import termios

    for fd in fds:
        try:
            termios.tcgetattr(fd)
        except termios.error as exc:
            if exc.args and exc.args[0] == 5:  # EIO: the other side of the tty is gone
                return True
    return False


class Ending:
    """Installed before anything slow starts (`install`); the app says how to ask it to
    exit once its loop runs (`running`) and what to save at the last resort (`rescue`)."""

    def __init__(
        self,
        fds: Sequence[int] = (0, 1, 2),
        *,
        grace: float = GRACE,
        rescue_for: float = RESCUE,
        exit_process: Callable[[int], Any] = os._exit,
    ) -> None:
        self.fds = [fd for fd in fds if _is_tty(fd)]
        self.grace = grace
        self.rescue_for = rescue_for
        self.signum: int | None = None
        self._exit_process = exit_process
        self._ask_app: Callable[[], object] | None = None
        self._rescue: list[Callable[[], None]] = []
        self._told = False
        self._lock = threading.Lock()  # the watchdog's own: never taken in a handler
        self._attrs: list[Any] | None = None
        self._before: dict[int, Any] = {}
        self._wakeup_before = -1
        self._read, self._write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)

    @property
    def code(self) -> int | None:
        """The exit code an ending by signal (or by a terminal gone) asks for."""
        return None if self.signum is None else 128 + self.signum

    def install(self) -> Ending:
        """Handlers for SIGTERM and SIGHUP, the wakeup pipe and the watchdog (main thread)."""
        import termios

        if self.fds:
            with contextlib.suppress(termios.error):
                self._attrs = termios.tcgetattr(self.fds[0])
        for signum in SIGNALS:
            self._before[signum] = signal.signal(signum, self._on_signal)
        self._wakeup_before = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="starvideos-ending", daemon=True).start()
        return self

    def uninstall(self) -> None:
        """The handlers as they were (the watchdog keeps watching an ending under way)."""
        for signum, handler in self._before.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(self._wakeup_before)

    def running(self, ask_app: Callable[[], object]) -> None:
        """The app's loop runs (main thread): `ask_app` (thread-safe) asks it to exit. A
        signal that came before is acted on now."""
        self._ask_app = ask_app
        self._guard_resume()
        if self.signum is not None:
            ask_app()

    def _guard_resume(self) -> None:
        """Textual's driver opens its screen again on every SIGCONT, suspended or not, with
        a new output thread. A hung-up terminal sends SIGCONT with SIGHUP: that thread dies
        on its first write (EIO), its queue fills and the loop blocks for ever on it (the
        orphan of issue 23). So SIGCONT reaches the driver only after a SIGTSTP (a real
        suspend, ctrl+z from outside) and never once the ending has begun."""
        on_stop, on_cont = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
        if not (callable(on_stop) and callable(on_cont)):
            return  # no driver of a real terminal (headless)
        suspended = False

        def stopped(signum: int, frame: Any) -> None:
            nonlocal suspended
            suspended = True
            on_stop(signum, frame)

        def continued(signum: int, frame: Any) -> None:
            nonlocal suspended
            if suspended and self.signum is None and not terminal_gone(self.fds):
                suspended = False
                on_cont(signum, frame)

        signal.signal(signal.SIGTSTP, stopped)
        signal.signal(signal.SIGCONT, continued)

    def rescue(self, step: Callable[[], None], *, first: bool = False) -> None:
        """Something to do before the process is ended the hard way (in another thread)."""
        self._rescue.insert(0 if first else len(self._rescue), step)

    # -- the signal handler: no locks, no allocation of note, nothing that can block ---

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        with contextlib.suppress(OSError):
            os.write(self._write, bytes([signum]))

    # -- the watchdog --------------------------------------------------------------------

    def _watch(self) -> None:
        while self.signum is None:
            ready = select.select([self._read], [], [], LOOK_EVERY)[0]
            if ready:
                with contextlib.suppress(OSError):
                    for number in os.read(self._read, 256):
                        if number in SIGNALS and self.signum is None:
                            self.signum = number
            if self.signum is None and terminal_gone(self.fds):
                self.signum = signal.SIGHUP
        self._end()

    def _end(self) -> None:
        told = time.monotonic()
        signum = self.signum or signal.SIGHUP
        log.info("ending on %s", signal.Signals(signum).name)
        if self._ask_app is not None:
            with contextlib.suppress(Exception):  # a loop closed meanwhile: it is ending
                self._ask_app()
        time.sleep(max(0.0, told + self.grace - time.monotonic()))
        # Still alive: the normal ending is stuck. Save what can be saved, and go.
        log.warning("the TUI did not end within %.1f s: ended the hard way", self.grace)
        self.leave(128 + signum, stuck=True)

    def leave(self, code: int, *, stuck: bool = False) -> None:
        """End the process now with `code`: the rescue steps run (for `rescue_for` seconds
        at most), the terminal is given back if the app could not (`stuck`), the log is
        flushed. Without waiting for threads that only read: once the app has ended,
        every write was awaited (Monitor.close), and a watchlist of 20,000 tasks still
        being read would keep the process for seconds."""
        with self._lock:
            if self._told:
                return
            self._told = True
        done = threading.Event()

        def save() -> None:
            for step in self._rescue:
                try:
                    step()
                except Exception:
                    log.exception("rescue step failed")
            if stuck:
                self._give_back()
            done.set()

        # In a thread of its own: a step that blocks (a lock the stuck loop holds, a
        # terminal that does not take output) costs `rescue_for`, not the ending.
        threading.Thread(target=save, name="starvideos-rescue", daemon=True).start()
        done.wait(self.rescue_for)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        self._exit_process(code)

    def _give_back(self) -> None:
        """The terminal as it was before the screen opened, when it is still there."""
        import termios

        if not self.fds or terminal_gone(self.fds):
            return
        with contextlib.suppress(OSError, termios.error):
            if self._attrs is not None:
                termios.tcsetattr(self.fds[0], termios.TCSANOW, self._attrs)
            out = 2 if 2 in self.fds else self.fds[-1]  # Textual draws on stderr
            os.write(out, GIVE_BACK.encode())


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
