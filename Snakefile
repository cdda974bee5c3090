# inflamed: raw trial reports -> pooled evidence -> mechanism models -> figures -> report.
# One module per stage; the logic lives in the `inflamed` library (src/inflamed/).

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/pool.smk"
include: "workflow/rules/mechanism.smk"
include: "workflow/rules/network.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
        "results/MANIFEST.json",
