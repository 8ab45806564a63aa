"""Parses Prometheus text on stdin with prometheus_client's own parser (the
one Prometheus' Python client ships), and prints each sample as a line
`name{label="value",...} value`, labels sorted, then each family as
`# family NAME TYPE HELP`. Any parse error exits non-zero."""

import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
for family in text_string_to_metric_families(text):
    print(f"# family {family.name} {family.type} {family.documentation}")
    for sample in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        print(f"{sample.name}{{{labels}}} {sample.value}")
