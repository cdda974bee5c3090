# Reference fixtures for the diagnostics part of the statistics engine:
# subgroups, leave-one-out, influence, small-study effects (regtest, ranktest, trimfill),
# cumulative meta-analysis and the three-level model.
#
# Run from the repository root:   Rscript tests/reference/R/diagnostics.R
# Writes tests/reference/fixtures/diagnostics_<family>.json (jsonlite, digits = NA: full precision).
# Every case records the exact R call that produced it, the inputs (yi, vi, groups, order, ...)
# and metafor's output, so the Python tests never need R.
#
# Pinned: R 4.2.2, metafor 3.8-1, metadat (Debian packages r-cran-metafor, r-cran-metadat).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "fixtures")
stopifnot(dir.exists(out_dir))

# Tight convergence for the iterative estimators (REML Fisher scoring, nlminb for rma.mv).
ctrl_uni <- list(threshold = 1e-12, maxiter = 1000)
# (rel.tol below 1e-10 makes nlminb report convergence = 1 on dat.assink2016; 1e-10 and 1e-12 give
# identical estimates to 12 digits on dat.konstantopoulos2011.)
ctrl_mv <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)

write_fixture <- function(obj, family) {
  path <- file.path(out_dir, paste0("diagnostics_", family, ".json"))
  txt <- toJSON(obj, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null", na = "null")
  writeLines(txt, path, useBytes = TRUE)
  cat("wrote", path, "\n")
}

meta <- list(
  generator = "tests/reference/R/diagnostics.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  control_rma_uni = ctrl_uni,
  control_rma_mv = ctrl_mv
)

# ---- datasets ---------------------------------------------------------------------------------
datasets <- list()
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets$bcg <- list(
  source = "metadat::dat.bcg (Colditz et al. 1994, JAMA 271:698); escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), group = as.character(d$alloc), order = d$year,
  group_name = "alloc", order_name = "year")
d <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
            data = dat.normand1999)
datasets$normand1999 <- list(
  source = "metadat::dat.normand1999 (Normand 1999, Stat Med 18:321); escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i)",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi),
  group = ifelse(grepl("^Orpington", d$source), "Orpington", "other"), order = d$study,
  group_name = "Orpington site vs other", order_name = "study")
d <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
datasets$hine1989 <- list(
  source = "metadat::dat.hine1989 (Hine et al. 1989, Arch Intern Med 149:2694); escalc(measure='RD', ai, n1i, ci, n2i); REML tau^2 = 0",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), group = NULL, order = d$study,
  group_name = NULL, order_name = "study")
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1:4, ])
datasets$bcg_k4 <- list(
  source = "metadat::dat.bcg rows 1-4 (small k); escalc(measure='RR')",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), group = NULL, order = d$year,
  group_name = NULL, order_name = "year")
d <- dat.hackshaw1998
datasets$hackshaw1998 <- list(
  source = "metadat::dat.hackshaw1998 (Hackshaw et al. 1997, BMJ 315:980); yi, vi as given (log OR)",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), group = as.character(d$design), order = d$year,
  group_name = "design", order_name = "year")
d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
datasets$molloy2014 <- list(
  source = "metadat::dat.molloy2014 (Molloy et al. 2014, Ann Behav Med 47:92); escalc(measure='ZCOR', ri, ni)",
  yi = as.numeric(d$yi), vi = as.numeric(d$vi), group = as.character(d$design), order = d$year,
  group_name = "design", order_name = "year")

settings <- list(
  list(method = "REML", test = "z"),
  list(method = "DL", test = "z"),
  list(method = "REML", test = "knha"),
  list(method = "ML", test = "z"),
  list(method = "FE", test = "z")
)

fit <- function(ds, s, ...) {
  rma(ds$yi, ds$vi, method = s$method, test = s$test, control = ctrl_uni, ...)
}
call_str <- function(fun, s) {
  sprintf("%s(rma(yi, vi, method='%s', test='%s', control=list(threshold=1e-12, maxiter=1000)))",
          fun, s$method, s$test)
}
num <- function(x) as.numeric(x)

# ---- leave-one-out and influence ----------------------------------------------------------------
l1o_cases <- list()
inf_cases <- list()
for (nm in names(datasets)) {
  ds <- datasets[[nm]]
  for (s in settings) {
    res <- fit(ds, s)
    l1 <- leave1out(res)
    l1o_cases[[length(l1o_cases) + 1]] <- list(
      dataset = nm, method = s$method, test = s$test, call = call_str("leave1out", s),
      yi = ds$yi, vi = ds$vi,
      estimate = num(l1$estimate), se = num(l1$se), zval = num(l1[[3]]), pval = num(l1$pval),
      ci_lb = num(l1$ci.lb), ci_ub = num(l1$ci.ub), q = num(l1$Q), q_pval = num(l1$Qp),
      tau2 = if (is.null(l1$tau2)) rep(0, res$k) else num(l1$tau2), i2 = num(l1$I2), h2 = num(l1$H2))
    inf <- influence(res)
    inf_cases[[length(inf_cases) + 1]] <- list(
      dataset = nm, method = s$method, test = s$test, call = call_str("influence", s),
      yi = ds$yi, vi = ds$vi,
      rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
      cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), qe_del = num(inf$inf$QE.del),
      hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbetas = num(inf$dfbs[[1]]),
      inf = as.logical(inf$is.infl))
  }
}
write_fixture(list(meta = meta, cases = l1o_cases), "leave1out")
# With a moderator (metafor's influence() supports meta-regression): BCG with absolute latitude.
for (s in settings[c(1, 3)]) {
  d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
  res <- rma(yi, vi, mods = ~ ablat, data = d, method = s$method, test = s$test, control = ctrl_uni)
  inf <- influence(res)
  inf_cases[[length(inf_cases) + 1]] <- list(
    dataset = "bcg_ablat", method = s$method, test = s$test,
    call = sprintf("influence(rma(yi, vi, mods = ~ ablat, method='%s', test='%s', control=...))", s$method, s$test),
    yi = num(d$yi), vi = num(d$vi), mods = num(d$ablat),
    rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
    cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), qe_del = num(inf$inf$QE.del),
    hat = num(inf$inf$hat), weight = num(inf$inf$weight),
    dfbetas = num(inf$dfbs[[1]]), dfbetas_mod = num(inf$dfbs[[2]]),
    inf = as.logical(inf$is.infl))
}
write_fixture(list(meta = meta, cases = inf_cases), "influence")

# ---- small-study effects ------------------------------------------------------------------------
reg_cases <- list()
rank_cases <- list()
tf_cases <- list()
for (nm in names(datasets)) {
  ds <- datasets[[nm]]
  rk <- ranktest(ds$yi, ds$vi)
  rank_cases[[length(rank_cases) + 1]] <- list(
    dataset = nm, call = "ranktest(yi, vi)", yi = ds$yi, vi = ds$vi,
    tau = num(rk$tau), pval = num(rk$pval))
  for (s in settings[c(1, 2, 3)]) {
    for (model in c("rma", "lm")) {
      for (pred in c("sei", "vi")) {
        if (model == "lm" && !(s$method == "REML" && s$test == "z")) next
        res <- fit(ds, s)
        rt <- regtest(res, model = model, predictor = pred)
        reg_cases[[length(reg_cases) + 1]] <- list(
          dataset = nm, method = s$method, test = s$test, model = model, predictor = pred,
          call = sprintf("regtest(rma(yi, vi, method='%s', test='%s', control=...), model='%s', predictor='%s')",
                         s$method, s$test, model, pred),
          yi = ds$yi, vi = ds$vi,
          zval = num(rt$zval), pval = num(rt$pval), dfs = if (is.null(rt$dfs)) NULL else num(rt$dfs),
          est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub),
          slope = num(coef(rt$fit)[2]))
      }
    }
  }
  for (s in settings[c(1, 2, 5)]) {
    for (estimator in c("L0", "R0")) {
      for (side in list(NULL, "left", "right")) {
        res <- fit(ds, s)
        # control is passed on (via ...) to every internal rma.uni fit; without it the refits use
        # metafor's default REML threshold (1e-5) and agree with a tight fit only to ~1e-6.
        tf <- if (is.null(side)) trimfill(res, estimator = estimator, control = ctrl_uni) else
          trimfill(res, estimator = estimator, side = side, control = ctrl_uni)
        filled <- tf$fill
        tf_cases[[length(tf_cases) + 1]] <- list(
          dataset = nm, method = s$method, test = s$test, estimator = estimator,
          side_arg = if (is.null(side)) NULL else side,
          call = sprintf("trimfill(rma(yi, vi, method='%s', test='%s', control=...), estimator='%s'%s, control=list(threshold=1e-12, maxiter=1000))",
                         s$method, s$test, estimator,
                         if (is.null(side)) "" else sprintf(", side='%s'", side)),
          yi = ds$yi, vi = ds$vi,
          k0 = tf$k0, se_k0 = num(tf$se.k0), side = tf$side,
          p_k0 = if (is.na(tf$p.k0)) NULL else num(tf$p.k0),
          yi_fill = num(tf$yi[filled]), vi_fill = num(tf$vi[filled]),
          estimate = num(tf$beta), se = num(tf$se), ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub),
          pval = num(tf$pval), tau2 = num(tf$tau2), k = tf$k)
      }
    }
  }
}
write_fixture(list(meta = meta, cases = reg_cases), "regtest")
write_fixture(list(meta = meta, cases = rank_cases), "ranktest")
write_fixture(list(meta = meta, cases = tf_cases), "trimfill")

# ---- cumulative ---------------------------------------------------------------------------------
cum_cases <- list()
for (nm in names(datasets)) {
  ds <- datasets[[nm]]
  for (s in settings[c(1, 2, 3)]) {
    res <- fit(ds, s)
    ord <- ds$order
    cm <- cumul(res, order = ord)
    cum_cases[[length(cum_cases) + 1]] <- list(
      dataset = nm, method = s$method, test = s$test,
      call = sprintf("cumul(rma(yi, vi, method='%s', test='%s', control=...), order=%s)",
                     s$method, s$test, ds$order_name),
      yi = ds$yi, vi = ds$vi, order = ord,
      estimate = num(cm$estimate), se = num(cm$se), zval = num(cm[[3]]), pval = num(cm$pval),
      ci_lb = num(cm$ci.lb), ci_ub = num(cm$ci.ub), q = num(cm$Q), q_pval = num(cm$Qp),
      tau2 = num(cm$tau2), i2 = num(cm$I2), h2 = num(cm$H2))
  }
}
write_fixture(list(meta = meta, cases = cum_cases), "cumul")

# ---- subgroups ----------------------------------------------------------------------------------
sub_cases <- list()
for (nm in names(datasets)) {
  ds <- datasets[[nm]]
  if (is.null(ds$group)) next
  for (s in settings[c(1, 2, 3)]) {
    grp <- ds$group
    levs <- sort(unique(grp))
    per <- lapply(levs, function(g) {
      r <- rma(ds$yi, ds$vi, subset = grp == g, method = s$method, test = s$test, control = ctrl_uni)
      list(group = g, k = r$k, estimate = num(r$beta), se = num(r$se), ci_lb = num(r$ci.lb),
           ci_ub = num(r$ci.ub), pval = num(r$pval), tau2 = num(r$tau2), i2 = num(r$I2),
           q = num(r$QE), q_pval = num(r$QEp))
    })
    est <- sapply(per, function(p) p$estimate)
    se <- sapply(per, function(p) p$se)
    between <- rma(est, sei = se, method = "FE")
    mr <- rma(ds$yi, ds$vi, mods = ~ factor(grp), method = s$method, test = s$test,
              control = ctrl_uni)
    mr0 <- rma(ds$yi, ds$vi, mods = ~ factor(grp) - 1, method = s$method, test = s$test,
               control = ctrl_uni)
    sub_cases[[length(sub_cases) + 1]] <- list(
      dataset = nm, method = s$method, test = s$test, group_name = ds$group_name,
      call = paste0(
        sprintf("per level g: rma(yi, vi, subset=group==g, method='%s', test='%s'); ", s$method, s$test),
        "between: rma(estimates, sei=se, method='FE') -> QE; ",
        sprintf("meta-regression: rma(yi, vi, mods=~factor(group), method='%s', test='%s') -> QM", s$method, s$test)),
      yi = ds$yi, vi = ds$vi, group = grp, levels = levs, subgroups = per,
      q_between = num(between$QE), q_between_df = length(levs) - 1, q_between_pval = num(between$QEp),
      qm = num(mr$QM), qm_pval = num(mr$QMp), qm_df = num(mr$QMdf), tau2_common = num(mr$tau2),
      mr_estimates = num(mr0$beta), mr_se = num(mr0$se))
  }
}
write_fixture(list(meta = meta, cases = sub_cases), "subgroups")

# ---- three-level model --------------------------------------------------------------------------
# I^2 for multilevel models: metafor FAQ "I^2 for multilevel and multivariate models"
# (https://www.metafor-project.org/doku.php/tips:i2_multilevel_multivariate), Cheung 2014.
ml_cases <- list()
i2_ml <- function(res) {
  W <- diag(1 / res$vi)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typ <- (res$k - res$p) / sum(diag(P))
  list(i2_total = 100 * sum(res$sigma2) / (sum(res$sigma2) + typ),
       i2_levels = num(100 * res$sigma2 / (sum(res$sigma2) + typ)),
       typical_v = typ)
}
ml_data <- list()
d <- dat.konstantopoulos2011
ml_data$konstantopoulos2011 <- list(
  source = "metadat::dat.konstantopoulos2011 (Konstantopoulos 2011, Res Synth Methods 2:61); schools nested in districts",
  yi = num(d$yi), vi = num(d$vi), study = as.character(d$district), es_id = as.character(d$school))
d <- dat.assink2016
ml_data$assink2016 <- list(
  source = "metadat::dat.assink2016 (Assink & Wibbelink 2016, Quant Methods Psychol 12:154); effect sizes (esid) nested in studies",
  yi = num(d$yi), vi = num(d$vi), study = as.character(d$study), es_id = as.character(d$esid))
d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
# A third, artificial nesting for the likelihood tests: Molloy 2014 studies grouped by design.
ml_data$molloy2014_by_design <- list(
  source = "metadat::dat.molloy2014 with escalc('ZCOR'); effects nested in 'design' (a test grouping, not a substantive model; the design-level sigma^2 sits on the boundary 0)",
  yi = num(d$yi), vi = num(d$vi), study = as.character(d$design), es_id = as.character(seq_len(nrow(d))))
for (nm in names(ml_data)) {
  md <- ml_data[[nm]]
  for (method in c("REML", "ML")) {
    for (test in c("z", "t")) {
      dd <- data.frame(yi = md$yi, vi = md$vi, study = md$study, es_id = md$es_id)
      res <- rma.mv(yi, vi, random = ~ 1 | study / es_id, data = dd, method = method, test = test,
                    control = ctrl_mv)
      i2 <- i2_ml(res)
      ml_cases[[length(ml_cases) + 1]] <- list(
        dataset = nm, source = md$source, method = method, test = test,
        call = sprintf("rma.mv(yi, vi, random = ~ 1 | study/es_id, method='%s', test='%s', control=list(rel.tol=1e-10, iter.max=10000, eval.max=10000))", method, test),
        yi = md$yi, vi = md$vi, study = md$study, es_id = md$es_id,
        sigma2 = num(res$sigma2), estimate = num(res$beta), se = num(res$se), zval = num(res$zval),
        pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), df = if (test == "t") num(res$ddf) else NULL,
        q = num(res$QE), q_df = res$k - res$p, q_pval = num(res$QEp), loglik = num(logLik(res)),
        k = res$k, n_studies = num(res$s.nlevels[1]),
        i2_total = i2$i2_total, i2_levels = i2$i2_levels, typical_v = i2$typical_v)
    }
  }
}
write_fixture(list(meta = meta, cases = ml_cases), "threelevel")
