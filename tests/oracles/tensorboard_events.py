#!/usr/bin/env python3
"""TensorBoard's own event reader as the oracle for our event files (tests/oracle/tracker_oracle_test.cpp).

    tensorboard_events.py LOGDIR

Loads every event file in LOGDIR with tensorboard's EventAccumulator (keeping every event, and
purging what a restart marker supersedes, as TensorBoard does) and prints JSON
{tag: [[step, value], ...]} for every scalar tag.
"""
import json
import logging
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    logging.disable(logging.WARNING)  # the reader logs each restart purge it does
    acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
    acc.Reload()
    out = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
