"""``musiclm ui``: a port in use is one line and exit 2 (the studio: tests/test_studio.py)."""

import socket

import pytest

from musiclm.cli.main import main

pytest.importorskip("gradio", reason="the studio needs the [ui] extra (pip install gradio)")


def test_port_in_use_is_one_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["ui", "--port", str(port), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot serve on 127.0.0.1:")
