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
    # run_config writes no record of its own (it is the config itself); describe it here.
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
