"""Tests of qruntime_session.emulator, over real sockets with plain aiohttp."""
