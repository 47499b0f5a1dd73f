from __future__ import annotations

import os
import time
from pathlib import Path

from django.apps import AppConfig


def _order(name: str) -> int | None:
    control = os.environ.get("SAKA_TEST_CONTROL_DIR")
    path = Path(control, name) if control else None
    if path is None or not path.exists():
        return None
    return int(path.read_text().strip())


def after_chunk(sender, shard, chunk, **kwargs):
    control = os.environ.get("SAKA_TEST_CONTROL_DIR")
    if not control:
        return
    with open(Path(control, "chunks.log"), "a") as log:
        log.write(f"{os.getpid()}\n")
    if Path(control, "chunk_sleep").exists():
        time.sleep(float(Path(control, "chunk_sleep").read_text()))
    pause_after = _order("pause_after")
    if pause_after is None or chunk < pause_after:
        return
    mine = Path(control, f"paused.{os.getpid()}")
    mine.write_text(f"{os.getpid()} {shard} {chunk}")
    try:
        os.link(mine, Path(control, "paused.pid"))  # atomic, and only the first wins
    except FileExistsError:
        return  # another worker paused already: this one goes on
    finally:
        mine.unlink()
    time.sleep(3600)  # until the test kills this process


class ClusterHooksConfig(AppConfig):
    name = "tests.clusterhooks"
    label = "saka_clusterhooks"

    def ready(self) -> None:
        from django_saka import signals
        from django_saka.cycles import engine

        signals.cycle_chunk_done.connect(after_chunk, weak=False)
        real_run_chunk = engine.run_chunk

        def run_chunk(kind, shard, chunk_size, dialect):
            if _order("fail_shard") == shard.number:
                raise RuntimeError(f"injected failure in shard {shard.number}")
            return real_run_chunk(kind, shard, chunk_size, dialect)

        engine.run_chunk = run_chunk
