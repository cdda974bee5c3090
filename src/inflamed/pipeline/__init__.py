"""inflamed.pipeline: the seam between Snakemake and the library.

* :mod:`inflamed.pipeline.rules`: :func:`run_rule`, the one adapter every rule script uses;
* :mod:`inflamed.pipeline.config`: config validation and the per-rule config slices;
* :mod:`inflamed.pipeline.provenance`: per-job provenance records and the run manifest;
* :mod:`inflamed.pipeline.figure_inputs`: pool-stage artefacts -> the frames figures draw;
* :mod:`inflamed.pipeline.notebooks`: papermill execution and byte-stable report HTML.
"""
