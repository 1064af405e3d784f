#!/bin/sh
# A killpath program for the tests: writes its arguments after the first
# to the file named by the first.
out="$1"
shift
echo "$@" > "$out"
