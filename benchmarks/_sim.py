"""The simulator as a child process of the benchmark: seeds tasks, prints them, serves.

Prints one JSON line {"base_url": ..., "ids": [...]} once the port accepts connections,
then serves until its stdin is closed (the parent exiting closes it too).
"""

from __future__ import annotations

import argparse
import json
import sys

from starvideos_tui.simulator import SimConfig, Simulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--queued-seconds", type=float, default=0.0)
    args = parser.parse_args()
    # Tasks never finish during a benchmark: they stay queued or processing.
    sim = Simulator(
        SimConfig(queued_seconds=args.queued_seconds, processing_seconds=1e6, seed=6)
    ).start()
    ids = [sim.seed_task(f"benchmark task {i}") for i in range(args.tasks)]
    print(json.dumps({"base_url": sim.base_url, "ids": ids}), flush=True)
    sys.stdin.read()
    sim.stop()


if __name__ == "__main__":
    main()
