# The report: papermill executes the notebook (in the rule's own environment: a script rule runs
# in its conda env under --sdm conda), nbconvert writes results/report.html without code cells,
# and the manifest lists every artefact with its sha256, the rule that made it, the hashes of that
# rule's inputs and the config values it used.


# Bookkeeping of seconds: run beside Snakemake, not through a cluster queue.
localrules:
    run_config,
    manifest,


rule run_config:
    output:
        "results/run_config.json",
    log:
        "results/logs/run_config.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    params:
        config=config,
    script:
        "../scripts/run_config.py"


rule report:
    input:
        artefacts=all_stage_artefacts(),
        run_config="results/run_config.json",
        notebook="notebooks/report.ipynb",
        # The reproducibility appendix quotes the README's commands.
        readme="README.md",
        # The data-request logs people keep in the review folders (status typed by the team).
        requests=[
            f"{config['reviews'][r]['path']}/data_requests.csv"
            for r in REVIEWS
            if Path(config["reviews"][r]["path"], "data_requests.csv").is_file()
        ],
        # When registry records were last fetched, and what changed (inflamed fetch ctgov).
        fetch_logs=[
            f"{config['reviews'][r]['path']}/registry/fetch_log.tsv"
            for r in REVIEWS
            if Path(config["reviews"][r]["path"], "registry", "fetch_log.tsv").is_file()
        ],
    output:
        notebook="results/notebooks/report.ipynb",
        html=report(
            "results/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
        provenance=provenance_path("report", "report"),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **job_resources("report"),
    params:
        reviews=",".join(REVIEWS),
        code=code_digest(ROOT / "notebooks" / "report.ipynb") + code("report.py"),
    script:
        "../scripts/report.py"


rule manifest:
    input:
        artefacts=all_stage_artefacts(),
        report="results/report.html",
        notebook="results/notebooks/report.ipynb",
        run_config="results/run_config.json",
    output:
        "results/MANIFEST.json",
    log:
        "results/logs/manifest.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=config,
    script:
        "../scripts/manifest.py"
