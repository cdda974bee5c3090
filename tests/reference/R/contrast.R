# Reference values for contrast-level (generic inverse-variance) input: inflamed.extract.contrast
# and the pool of its rows with inflamed.stats.pooling.rma.
#
# Writes tests/reference/fixtures/contrast_generic_iv.json: per study a mean difference, its
# standard error and its 95 % Wald CI (as a report would print them), and metafor's
#   rma(yi, sei = sei, method = "REML", test = "knha")
# fit on them, plus the SE recovered from the CI with the normal quantile (the Wald formula that
# metafor 4.x's conv.wald() uses; 3.8.1 has no conv.wald, so it is written out).
# Data: metadat::dat.normand1999 (length of hospital stay, specialist vs routine care; Normand 1999,
# Stat Med 18:321, doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P, Table IV),
# the arm means turned into mean differences by escalc("MD").
#
# Run from the repository root:  Rscript tests/reference/R/contrast.R
# (tests/reference/make_reference.R sources it too). Written against R 4.2.2, metafor 3.8.1.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
if (!dir.exists(fixture_dir)) stop("run from the repository root (tests/reference/fixtures missing)")
ctl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

dat <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
dat$sei <- sqrt(dat$vi)
dat$ci_lb <- dat$yi - qnorm(0.975) * dat$sei
dat$ci_ub <- dat$yi + qnorm(0.975) * dat$sei
# metafor 3.8.1 has no conv.wald() (added in 4.x); its Wald formula, written out:
sei_from_ci <- (dat$ci_ub - dat$ci_lb) / (2 * qnorm(0.975))

fit <- rma(yi, sei = sei, data = dat, method = "REML", test = "knha", control = ctl)

out <- list(
  generated_by = "tests/reference/R/contrast.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  dataset = "metadat::dat.normand1999 (Normand 1999, Stat Med 18:321, Table IV); escalc('MD', m1i, sd1i, n1i, m2i, sd2i, n2i)",
  call = "rma(yi, sei = sei, method = 'REML', test = 'knha', control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12))",
  se_from_ci_call = "(ci_ub - ci_lb) / (2 * qnorm(0.975))  # the Wald formula of metafor 4.x conv.wald()",
  study = dat$study,
  yi = c(dat$yi),
  sei = dat$sei,
  ci_lb = dat$ci_lb,
  ci_ub = dat$ci_ub,
  sei_from_ci = sei_from_ci,
  n_total = dat$n1i + dat$n2i,
  estimate = c(fit$beta),
  se = fit$se,
  ci_lb_pooled = fit$ci.lb,
  ci_ub_pooled = fit$ci.ub,
  pval = fit$pval,
  tau2 = fit$tau2,
  i2 = fit$I2,
  weights = unname(weights(fit))
)
path <- file.path(fixture_dir, "contrast_generic_iv.json")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
message("wrote ", path)
