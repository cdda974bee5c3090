# Reference values for the degenerate and adversarial cases of issue 12 (inflamed.stats.tau2,
# inflamed.stats.moderators, inflamed.stats.binary; tests/test_robustness.py).
# Data are simulated (labelled) or tiny hand-made tables; every case records the exact R call.
# Run through tests/reference/make_reference.R (which defines `tight` and write_fixture()).

record_warnings <- function(expr) {
  msgs <- character(0)
  value <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = msgs)
}

cases <- list()

# 1. A REML likelihood with two local maxima where metafor's Fisher scoring (from the HE start)
#    stops at the lower one. Simulated: found by a seeded random search (numpy default_rng
#    20261201, k = 4, vi log-uniform over 1e-3..1e3), values rounded to 3-4 decimals.
yi <- c(25.722, 0.018, 8.753, -0.399)
vi <- c(88.3921, 0.002, 28.2079, 0.006)
fit <- rma(yi, vi, method = "REML", control = tight)
at_global <- rma(yi, vi, tau2 = 0.08479977395417146, method = "REML")
cases$local_maximum <- list(
  simulated = TRUE,
  yi = yi, vi = vi,
  call = "rma(yi, vi, method = 'REML', control = tight)",
  tau2 = fit$tau2, beta = c(fit$beta), ll_reml = c(logLik(fit)),
  call_at_global = "rma(yi, vi, tau2 = 0.08479977395417146, method = 'REML')",
  global_tau2 = 0.08479977395417146, global_beta = c(at_global$beta),
  global_ll_reml = c(logLik(at_global))
)

# 1b. An ML meta-regression with a two-level factor where metafor returns tau^2 = 0 although the
#     ML maximum (unique) is at tau^2 = 4.84. Simulated: seeded random search (numpy
#     default_rng(20261202), k = 5, vi log-uniform over 1e-3..1e3), values rounded.
yi <- c(-0.46, -7.12, -5.781, -5.447, -6.729)
vi <- c(0.0091, 0.0029, 78.2304, 0.1628, 0.5561)
grp <- c("a", "b", "a", "b", "a")
fit <- rma(yi, vi, mods = ~ grp, method = "ML", control = tight)
at_global <- rma(yi, vi, mods = ~ grp, method = "ML", tau2 = 4.837170757312485)
cases$ml_factor_moderator <- list(
  simulated = TRUE,
  yi = yi, vi = vi, grp = grp,
  call = "rma(yi, vi, mods = ~ grp, method = 'ML', control = tight)",
  tau2 = fit$tau2, beta = c(fit$beta), ll_ml = c(logLik(fit)),
  call_at_global = "rma(yi, vi, mods = ~ grp, method = 'ML', tau2 = 4.837170757312485)",
  global_tau2 = 4.837170757312485, global_beta = c(at_global$beta),
  global_ll_ml = c(logLik(at_global))
)

# 2. Mantel-Haenszel with no events in the treatment arm of every study: metafor returns NA.
ai <- c(0, 0, 0); n1i <- c(20, 30, 25); ci <- c(3, 5, 2); n2i <- c(20, 30, 25)
for (measure in c("OR", "RR")) {
  r <- record_warnings(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = measure))
  cases[[paste0("mh_no_events_treated_", tolower(measure))]] <- list(
    ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = measure,
    call = sprintf("rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = '%s')", measure),
    beta = c(r$value$beta), se = r$value$se, q = r$value$QE, q_pval = r$value$QEp,
    i2 = r$value$I2, h2 = r$value$H2, warnings = r$warnings)
}

# 3. Peto with no events at all: metafor stops with an error.
peto <- tryCatch(rma.peto(ai = c(0, 0), n1i = c(10, 10), ci = c(0, 0), n2i = c(10, 10)),
                 error = function(e) conditionMessage(e))
cases$peto_no_events <- list(
  ai = c(0, 0), n1i = c(10, 10), ci = c(0, 0), n2i = c(10, 10),
  call = "rma.peto(ai = c(0, 0), n1i = c(10, 10), ci = c(0, 0), n2i = c(10, 10))",
  error = peto)

# 4. Identical studies under Knapp-Hartung: metafor reports s2w = 0, se = 0, a zero-width CI.
yi <- c(0.3, 0.3, 0.3, 0.3); vi <- c(0.01, 0.02, 0.03, 0.04)
fit <- rma(yi, vi, test = "knha", control = tight)
cases$identical_knha <- list(
  yi = yi, vi = vi, call = "rma(yi, vi, test = 'knha', control = tight)",
  tau2 = fit$tau2, beta = c(fit$beta), se = fit$se, ci_lb = fit$ci.lb, ci_ub = fit$ci.ub,
  pval = fit$pval, s2w = fit$s2w)
fit <- rma(yi, vi, test = "adhoc", control = tight)
cases$identical_adhoc <- list(
  yi = yi, vi = vi, call = "rma(yi, vi, test = 'adhoc', control = tight)",
  tau2 = fit$tau2, beta = c(fit$beta), se = fit$se, ci_lb = fit$ci.lb, ci_ub = fit$ci.ub,
  pval = fit$pval, s2w = fit$s2w)

# 5. Near-collinear and exactly collinear moderators: metafor drops the later column.
x1 <- c(1, 2, 3, 4, 5, 6, 7, 8)
y <- c(0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.5, 0.8); v <- rep(0.02, 8)
for (kind in c("near", "exact")) {
  x2 <- if (kind == "near") x1 + c(1, -1, 1, -1, 1, -1, 1, -1) * 1e-9 else 2 * x1
  r <- record_warnings(rma(y, v, mods = ~ x1 + x2, control = tight))
  cases[[paste0("collinear_", kind)]] <- list(
    yi = y, vi = v, x1 = x1, x2 = x2,
    call = "rma(yi, vi, mods = ~ x1 + x2, control = tight)",
    kappa = kappa(cbind(1, x1, x2), exact = TRUE),
    names = rownames(r$value$beta), beta = c(r$value$beta), se = r$value$se,
    tau2 = r$value$tau2, warnings = r$warnings)
}

write_fixture("robustness_cases", list(cases = cases))
