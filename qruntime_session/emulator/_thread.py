"""Serve an emulator from a background thread, for synchronous code (IBM's official client).

The emulator is asyncio code; qiskit-ibm-runtime (``requests``) and most test code are not.
``emulator_thread`` runs the emulator on its own event loop in a daemon thread for the
duration of a ``with`` block; the caller's thread talks to it over HTTP and reaches its state
through [`Emulator.call_from_thread`][qruntime_session.emulator.Emulator.call_from_thread].
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from ._config import EmulatorConfig
from ._emulator import Emulator, _start

__all__ = ["emulator_thread"]


class _Server:
    """The emulator's thread: builds and serves the emulator on its own loop until stopped."""

    def __init__(self, config: EmulatorConfig | None, host: str, port: int) -> None:
        self._config = config
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = threading.Event()
        self.emulator: Emulator | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="qruntime-emulator", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except asyncio.CancelledError:
            pass  # stopped
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        emulator = Emulator(self._config)
        served, _origin = await _start(emulator, self._host, self._port)
        try:
            self.emulator = emulator
            self.ready.set()
            await asyncio.get_running_loop().create_future()  # until cancelled by stop()
        finally:
            await served.cleanup()

    def stop(self, timeout: float) -> None:
        """Cancel the serving task (closing the server) and wait for the thread to end."""
        with self._lock:
            self._stopping = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: it ended
                loop.call_soon_threadsafe(task.cancel)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"the emulator's thread did not stop within {timeout:g} s")


@contextlib.contextmanager
def emulator_thread(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout: float = 60.0,
    stop_timeout: float = 30.0,
) -> Iterator[Emulator]:
    """Serve a fresh emulator from a background thread for the duration of a ``with`` block.

    For synchronous code — IBM's official client, qiskit-ibm-runtime, or any test without an
    event loop: the emulator runs on its own event loop in a daemon thread, and the block gets
    it once it is listening. Its state is not thread-safe: read or change it from the block
    with [`call_from_thread`][qruntime_session.emulator.Emulator.call_from_thread]
    (its ``origin``, ``base_url``, ``iam_url``, ``api_key``, ``service_crn`` and ``token``
    are fixed once it runs and can be read directly). Leaving the block, normally or by an
    exception, closes the server and ends the thread.

    >>> with emulator_thread(EmulatorConfig(queue_seconds=0)) as emu:  # doctest: +SKIP
    ...     service = QiskitRuntimeService(token=emu.api_key, instance=emu.service_crn, ...)
    ...     emu.call_from_thread(emu.job, job_id)["status"]

    Args:
        config: How the emulator behaves; ``None``: ``EmulatorConfig()``'s defaults.
        host: The address to listen on.
        port: The port to listen on (``0``: a free one; see the emulator's ``origin``).
        start_timeout: Seconds to wait for the emulator to listen.
        stop_timeout: Seconds to wait for its thread to end when the block is left.

    Yields:
        The running emulator.

    Raises:
        OSError: The address could not be listened on (raised in the caller's thread, as is
            any other exception that stopped the emulator from starting).
        TimeoutError: The emulator was not listening within ``start_timeout``.
        RuntimeError: Its thread did not end within ``stop_timeout`` of leaving the block.
    """
    server = _Server(config, host, port)
    server.thread.start()
    started = server.ready.wait(start_timeout)
    if server.emulator is None:
        server.stop(stop_timeout)
        if server.error is not None:
            raise server.error
        if not started:
            raise TimeoutError(f"the emulator did not start within {start_timeout:g} s")
        raise RuntimeError("the emulator stopped before it started")  # pragma: no cover
    try:
        yield server.emulator
    finally:
        server.stop(stop_timeout)
