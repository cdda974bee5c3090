"""Rule figure_leave_one_out: the pooled estimate with each study left out in turn."""

from inflamed.figures.influence import leave_one_out_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import leave_one_out_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = leave_one_out_input(smk.input.leave_one_out, smk.input.summary)
    if spec.drawable:
        fig = leave_one_out_plot(spec.frames["frame"], **spec.options)
    else:
        fig = placeholder(f"Leave-one-out: {smk.params.outcome['label']}", spec.reason)
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
