"""Rule manifest: every artefact with its sha256, the rule that made it, its inputs and params."""

import json
from pathlib import Path

from inflamed.io import write_json
from inflamed.pipeline.provenance import build_manifest, make_record
from inflamed.pipeline.rules import run_rule


def step(smk):
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path("results/provenance").rglob("*.json"))
    ]
    artefacts = [*smk.input.artefacts, smk.input.report, smk.input.notebook, smk.input.run_config]
    # The report (a shell rule) and run_config write no record of their own; describe them here.
    records.append(
        make_record(
            rule="report",
            wildcards={},
            params={"notebook": "notebooks/report.ipynb"},
            inputs=["notebooks/report.ipynb", smk.input.run_config, *smk.input.artefacts],
            outputs=[smk.input.report, smk.input.notebook],
        ).to_dict()
    )
    records.append(
        make_record(
            rule="run_config",
            wildcards={},
            params={"config": dict(smk.params.config)},
            inputs=[],
            outputs=[smk.input.run_config],
        ).to_dict()
    )
    write_json(smk.output[0], build_manifest(artefacts, records, config=dict(smk.params.config)))


run_rule(snakemake, step)
