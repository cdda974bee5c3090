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


# ---- target lists (file names come from inflamed.pipeline.layout, their one definition) ----------

from inflamed.pipeline import layout  # noqa: E402
from inflamed.pipeline.code_digest import code_digest  # noqa: E402

FIGURE_FORMATS = list(layout.FIGURE_FORMATS)


def review_artefacts(review):
    """Every artefact of one review, in stage order."""
    return layout.review_artefacts(review, outcomes_of(review))


def cascade_artefacts():
    return layout.cascade_artefacts()


def all_stage_artefacts():
    files = cascade_artefacts()
    for review in REVIEWS:
        files += review_artefacts(review)
    return files + network_artefacts()  # defined in network.smk


_REVIEW_TABLES = {
    "ingest": layout.INGEST_FILES,
    "extract": layout.EXTRACT_FILES,
    "mechanism": layout.MECHANISM_REVIEW_FILES,
}


def review_file(stage, key):
    """``results/{review}/<stage>/<file>`` for a layout key (wildcard left for Snakemake)."""
    return f"results/{{review}}/{stage}/{_REVIEW_TABLES[stage][key]}"


def pool_file(key):
    return f"results/{{review}}/pool/{{outcome}}/{layout.POOL_FILES[key]}"


def pooled_table_file():
    return f"results/{{review}}/pool/{layout.POOLED_TABLE}"


def pooled_history_file():
    return f"results/{{review}}/pool/{layout.POOLED_HISTORY}"


def cascade_file(key):
    return f"results/mechanism/{layout.CASCADE_TABLES[key]}"


def pool_outputs():
    """The per-outcome pool artefacts ``{key: results/{review}/pool/{outcome}/<file>}``."""
    return {key: pool_file(key) for key in layout.POOL_FILES}


def code(script):
    """The digest of a rule script and the library code it imports (see inflamed.pipeline.code_digest).

    Passed as a param: with ``code`` left out of the profile's rerun-triggers, a job reruns when
    the code behind it changes, and not for a comment.
    """
    return code_digest(ROOT / "workflow" / "scripts" / script)


#: The pooling keys the pool stage reads (binary_method and continuity_correction are read by the
#: report and the extract stage: passing them here would rerun every pool job for a prose change).
POOL_KEYS = ("preset", "method", "test", "level", "small_study_min_k", "rare_events")


def pooling_params(*keys):
    """Only the pooling config keys that a given rule reads; by default, those of the pool stage."""
    return {
        key: config["pooling"][key]
        for key in keys or POOL_KEYS
        if key in config["pooling"]
    }


def review_spec(review, *keys):
    """Only the named keys of a review's config entry, so a rule reruns only when they change."""
    spec = config["reviews"][review]
    return {key: spec[key] for key in keys if key in spec}


def outcome_specs(review, *keys):
    """Per outcome, only the named keys of its config entry."""
    return {
        name: {key: value for key, value in spec.items() if key in keys}
        for name, spec in config["reviews"][review]["outcomes"].items()
    }


def job_resources(kind):
    """``mem_mb`` and ``runtime`` (minutes) that grow with the job's input (inflamed.pipeline.resources)."""
    from inflamed.pipeline.resources import mem_mb, runtime_min

    return {
        "mem_mb": lambda wildcards, input, attempt: mem_mb(kind, input.size_mb, attempt),
        "runtime": lambda wildcards, input, attempt: runtime_min(kind, input.size_mb, attempt),
    }


#: Scheduling order when more jobs are ready than cores (higher first; unnamed rules 0). The review
#: chain (ingest -> extract -> pool) goes first because everything after it waits on it, then the
#: jobs that each take many seconds, so the many short ones fill the gaps around them instead of
#: leaving a long job to run alone at the end (a Metapsy-sized run spent its last 20 s on one core).
PRIORITY = {
    "ingest": 3,
    "extract": 3,
    "pool": 3,
    "network_bayes": 2,
    "mechanism_cascade": 2,
    "outcome_figures": 2,
}


def provenance_path(stage, name="{review}"):
    """Where a job records which rule made its outputs, from which inputs, with which params."""
    return f"results/provenance/{stage}/{name}.json"


# Audit-report caption and category of every figure (captions in workflow/report/<figure>.rst).
FIGURE_CATEGORIES = {
    "forest": "Forest plots",
    "funnel": "Funnel plots",
    "leave_one_out": "Sensitivity",
    "influence": "Sensitivity",
    "cumulative": "Cumulative meta-analysis",
    "rob_traffic_light": "Risk of bias",
    "rob_summary": "Risk of bias",
    "rob_results": "Risk of bias",
    "prisma": "PRISMA",
    "comparison": "Published estimates",
}


def figure_outputs(figures, per_outcome):
    """``{<figure>_png: report(png), <figure>_svg: svg}`` for each figure, names from the layout."""
    outputs = {}
    for figure in figures:
        stem = (
            f"results/{{review}}/figures/{{outcome}}_{figure}"
            if per_outcome
            else f"results/{{review}}/figures/{figure}"
        )
        outputs[f"{figure}_png"] = report(
            f"{stem}.png",
            caption=f"../report/{figure}.rst",
            category="Figures",
            subcategory=FIGURE_CATEGORIES[figure],
        )
        outputs[f"{figure}_svg"] = f"{stem}.svg"
    return outputs
