"""The variants' names, importable without Django (the harness's command line)."""

BASE = [
    "naive",
    "audit_fix",
    "floor",
    "floor_minimal",
    "saka",
    "saka_500",
    "saka_5000",
    "floor_redistribute",
    "floor_minimal_redistribute",
    "saka_redistribute",
]
# Sharded runs (PostgreSQL): K shards driven one after the other in one process, and
# 2 shards driven by 2 processes at once. Name -> (kind, shards, processes).
SHARDED = {
    "saka_shards_1": ("compost", 1, 1),
    "saka_shards_2": ("compost", 2, 1),
    "saka_shards_4": ("compost", 4, 1),
    "saka_shards_2_procs": ("compost", 2, 2),
    "saka_redistribute_shards_1": ("redistribution", 1, 1),
    "saka_redistribute_shards_2": ("redistribution", 2, 1),
    "saka_redistribute_shards_4": ("redistribution", 4, 1),
    "saka_redistribute_shards_2_procs": ("redistribution", 2, 2),
}
VARIANT_NAMES = [*BASE, *SHARDED]
