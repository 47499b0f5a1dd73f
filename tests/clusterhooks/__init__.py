"""Test-only hooks installed in the qcluster that tests/test_cluster.py starts.

Never part of the library: tests/settings_cluster.py adds this app, and the hooks read
their orders from files in ``SAKA_TEST_CONTROL_DIR``, which the test writes:

- ``pause_after``: ``k``. The first worker whose shard commits chunk ``k`` writes its
  process id to ``paused.pid`` and sleeps (a ``cycle_chunk_done`` receiver), so the
  test can SIGKILL it there. Only one worker ever pauses (``paused.pid`` is created
  exclusively); the worker that takes the shard over goes on.
- ``chunk_sleep``: seconds each chunk lasts longer (so that several workers overlap).
- ``chunks.log``: written by the hooks, the process id of the worker of every chunk.
- ``fail_shard``: ``n``. Every chunk of shard ``n`` raises (``engine.run_chunk`` is
  wrapped), as a chunk that hits a database error would.
"""
