"""The cycle engine: compost and redistribution runs, split into shards.

- :mod:`.rules`: who a kind applies to (SQL and Python readings, kept equal by tests);
- :mod:`.kinds`: what differs between kinds (candidates, amount, direction, columns, plan);
- :mod:`.chunk`, :mod:`.chunk_postgresql`, :mod:`.chunk_portable`: one chunk, written
  once per backend family;
- :mod:`.engine`: the life of a run and of its shards, for every kind.
"""
