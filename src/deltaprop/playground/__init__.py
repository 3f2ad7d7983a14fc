"""``deltaprop playground``: a local web page to watch backpropagation train a small network.

The page runs on the real engine, in this Python process (:mod:`.engine`); the server
(:mod:`.server`, Starlette and uvicorn: ``pip install "deltaprop[playground]"``) listens
on 127.0.0.1 with a per-session token. Start it with ``deltaprop playground`` or
:func:`deltaprop.playground.cli.serve`. See docs/playground.md.
"""
