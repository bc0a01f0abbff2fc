#!/bin/sh
# An example extractor: reads its parameters (JSON) from stdin, reports progress on stdout.
params=$(cat)
echo "job $BATON_JOB_ID (run $BATON_RUN_ID) extracting with parameters: $params"
case "$params" in
    *'"unreachable":true'*) echo "source did not answer" >&2; exit 2 ;;
esac
for step in 1 2 3; do
    echo "extracted batch $step of 3"
    sleep 0.3
done
echo "done"
