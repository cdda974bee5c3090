# Shared by every stage: configuration and sheet validation, input functions, target lists.
# Nothing in here runs a job; it decides what the jobs are.

import os
from pathlib import Path

from inflamed.pipeline.config import load_config

# One BLAS thread per job: Snakemake already runs jobs in parallel, and OpenBLAS's own threads
# on top of that made small dense solves ~100x slower on a 2-core machine (measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(workflow.basedir)

# Validate config.yaml (and any --configfile / --config on top of it) before anything runs,
# and fill in every default so rules never have to guess one.
_validated = load_config(
    config,
    ROOT / "workflow" / "schemas" / "config.schema.yaml",
    source=", ".join(str(f) for f in workflow.configfiles) or "config.yaml",
)
config.clear()
config.update(_validated)

REVIEWS = sorted(config["reviews"])


wildcard_constraints:
    review="|".join(REVIEWS),
    outcome="[a-z][a-z0-9_]*",


# Input sheets are validated at parse time, so a bad sheet stops the run before any job starts
# and the message names the file, row and column.
from inflamed.ingest.review import validate_review_inputs  # noqa: E402

for _name in REVIEWS:
    validate_review_inputs(config["reviews"][_name], instruments=config["instruments"])


def outcomes_of(review):
    return sorted(config["reviews"][review]["outcomes"])


def review_input_files(wildcards):
    """Every data file of a review (its README excluded), so editing one reruns its jobs only."""
    folder = Path(config["reviews"][wildcards.review]["path"])
    files = sorted(
        p.as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in {".csv", ".json", ".yaml", ".yml"}
    )
    return files + [config["instruments"]]


def log_path(stage, name="{review}"):
    # Logs and benchmarks are the only files that differ between reruns; the manifest skips them.
    return f"results/logs/{stage}/{name}.log"


def benchmark_path(stage, name="{review}"):
    return f"results/benchmarks/{stage}/{name}.tsv"


# ---- target lists -----------------------------------------------------------------------------

POOL_FILES = [
    "summary.json",
    "studies.csv",
    "subgroups.json",
    "leave_one_out.csv",
    "influence.csv",
    "small_study.json",
    "cumulative.csv",
]
OUTCOME_FIGURES = ["forest", "funnel", "leave_one_out", "influence", "cumulative"]
REVIEW_FIGURES = ["rob_traffic_light", "rob_summary", "prisma", "comparison"]
FIGURE_FORMATS = ["png", "svg"]


def review_artefacts(review):
    """Every artefact of one review, in stage order."""
    files = expand(
        "results/{review}/ingest/{name}",
        review=review,
        name=[
            "contrasts.csv",
            "studies.csv",
            "risk_of_bias.csv",
            "published_estimates.csv",
            "prisma.csv",
            "instruments.csv",
            "ingest_summary.json",
        ],
    )
    files += expand(
        "results/{review}/extract/{name}",
        review=review,
        name=["effects.csv", "derivation_log.csv", "missing_data.csv"],
    )
    files += expand(
        "results/{review}/pool/{outcome}/{name}",
        review=review,
        outcome=outcomes_of(review),
        name=POOL_FILES,
    )
    files.append(f"results/{review}/pool/pooled.csv")
    files += expand(
        "results/{review}/mechanism/{name}",
        review=review,
        name=[
            "who_benefits.json",
            "crp_predictions.csv",
            "clinic_bridge.csv",
            "crp_bubble.png",
            "crp_bubble.svg",
        ],
    )
    files += expand(
        "results/{review}/figures/{outcome}_{figure}.{ext}",
        review=review,
        outcome=outcomes_of(review),
        figure=OUTCOME_FIGURES,
        ext=FIGURE_FORMATS,
    )
    files += expand(
        "results/{review}/figures/{figure}.{ext}",
        review=review,
        figure=REVIEW_FIGURES,
        ext=FIGURE_FORMATS,
    )
    return files


CASCADE_TABLES = [
    "cascade_fit.json",
    "identifiability.csv",
    "profiles.csv",
    "interventions.csv",
    "sensitivity.csv",
]
CASCADE_FIGURES = ["model_diagram", "fit_vs_targets", "profiles", "interventions"]


def cascade_artefacts():
    return expand("results/mechanism/{name}", name=CASCADE_TABLES) + expand(
        "results/mechanism/{figure}.{ext}", figure=CASCADE_FIGURES, ext=FIGURE_FORMATS
    )


def all_stage_artefacts():
    files = cascade_artefacts()
    for review in REVIEWS:
        files += review_artefacts(review)
    return files


def figure_outputs(name, caption, category, per_outcome=True):
    """A figure rule's outputs: the PNG (in the audit report, captioned) and the SVG."""
    stem = (
        f"results/{{review}}/figures/{{outcome}}_{name}"
        if per_outcome
        else f"results/{{review}}/figures/{name}"
    )
    return {
        "png": report(
            f"{stem}.png",
            caption=f"../report/{caption}.rst",
            category="Figures",
            subcategory=category,
        ),
        "svg": f"{stem}.svg",
    }


def provenance_path(stage, name="{review}"):
    """Where a job records which rule made its outputs, from which inputs, with which params."""
    return f"results/provenance/{stage}/{name}.json"
