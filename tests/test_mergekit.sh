#!/bin/sh
# tests/test_mergekit.sh — mergekit YAML configs (one per method, in the shapes of mergekit's
# examples/*.yml) merged by `mergeval merge` and checked against the numpy re-implementation
# of mergekit's math in tests/golden/mergekit_reference.py; drop-in folder; bad configs.
exec sh tests/py_check.sh test_mergekit tests/golden/mergekit_reference.py
