"""The window schedule: continuation windows cover every frame once, keep half a window
of what came before, and start on the alignment asked for."""

import pytest

from musiclm.windows import continuation_windows, semantic_windows


@pytest.mark.parametrize(
    "total,known,window,align",
    [
        (375, 125, 250, 1),
        (750, 250, 500, 2),
        (751, 251, 500, 2),
        (1000, 250, 250, 10),
        (130, 4, 50, 1),
    ],
)
def test_continuation_windows_cover_the_rest_once(total, known, window, align):
    done = known
    for w in continuation_windows(total, known, window, align):
        assert w.start + w.keep == done  # the prompt is the frames just before
        assert 0 < w.keep <= window // 2 + align and w.frames <= window
        assert w.start % align == 0
        done += w.new
    assert done == total


def test_continuation_after_a_first_window_is_the_sliding_window():
    """Continuing a full first window gives the same windows as the sliding window."""
    slide = list(semantic_windows(700, 250))
    assert list(continuation_windows(700, 250, 250)) == slide[1:]
    assert list(continuation_windows(100, 100, 250)) == []
