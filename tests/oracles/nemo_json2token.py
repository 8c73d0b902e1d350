#!/usr/bin/env python3
"""Oracle for our cord-v2 targets (tests/oracle/nemo_vlm_targets_test.cpp):

    nemo_json2token.py IN.json OUT.json

IN holds a list of JSON values; OUT gets NeMo AutoModel's json2token(value, sort_json_key=True) of each, as
make_cord_v2_dataset calls it.
"""
import json
import sys

from nemo_automodel.components.datasets.vlm.utils import json2token


def main():
    values = json.load(open(sys.argv[1]))
    json.dump([json2token(v, sort_json_key=True) for v in values], open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
