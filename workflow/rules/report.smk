# The report: papermill executes the notebooks with this project's own Python, nbconvert writes
# results/report.html without code cells, and the manifest lists every artefact with its sha256,
# the rule that made it, the hashes of that rule's inputs and the config values it used.

import sys

PYTHON = sys.executable  # the interpreter running Snakemake: the project's own environment


rule run_config:
    output:
        "results/run_config.json",
    params:
        config=config,
    log:
        "results/logs/run_config.log",
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/run_config.py"


rule report:
    input:
        artefacts=all_stage_artefacts(),
        run_config="results/run_config.json",
        notebook="notebooks/report.ipynb",
        # The reproducibility appendix quotes the README's commands.
        readme="README.md",
    output:
        notebook="results/notebooks/report.ipynb",
        html=report(
            "results/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
    params:
        reviews=",".join(REVIEWS),
        python=PYTHON,
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/report.yaml"
    shell:
        "( {params.python:q} -m inflamed.pipeline.notebooks execute {input.notebook:q} {output.notebook:q}"
        " -p results_dir results -p run_config {input.run_config:q} -p reviews {params.reviews:q}"
        " && {params.python:q} -m inflamed.pipeline.notebooks normalise {output.notebook:q}"
        " && {params.python:q} -m inflamed.pipeline.notebooks html {output.notebook:q} {output.html:q}"
        " ) > {log:q} 2>&1"


rule manifest:
    input:
        artefacts=all_stage_artefacts(),
        report="results/report.html",
        notebook="results/notebooks/report.ipynb",
        run_config="results/run_config.json",
    output:
        "results/MANIFEST.json",
    params:
        config=config,
    log:
        "results/logs/manifest.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/manifest.py"
