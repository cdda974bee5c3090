# Reference values for inflamed.stats.pooling / inflamed.stats.heterogeneity / inflamed.stats.batch.
# Every method x test on several published datasets (metadat), with tight convergence control.
# test = "adhoc" is native in metafor 3.8-1 (rma(..., test = "adhoc")), so no hand computation.

methods <- c("FE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML")
tests <- c("z", "t", "knha", "adhoc")

fit_record <- function(dat, method, test, mods = NULL, intercept = TRUE) {
  call <- sprintf("rma(yi, vi, mods = %s, method = '%s', test = '%s', intercept = %s, control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12))",
                  if (is.null(mods)) "NULL" else deparse(mods), method, test, intercept)
  res <- suppressWarnings(if (is.null(mods)) {
    rma(yi, vi, data = dat, method = method, test = test, control = tight)
  } else {
    rma(yi, vi, mods = mods, data = dat, method = method, test = test, intercept = intercept,
        control = tight)
  })
  out <- list(call = call, method = method, test = test,
              names = rownames(res$beta), beta = c(res$beta), se = res$se, zval = res$zval,
              pval = res$pval, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
              tau2 = res$tau2, se_tau2 = res$se.tau2, i2 = res$I2, h2 = res$H2,
              q = res$QE, q_pval = res$QEp, qm = res$QM, qm_pval = res$QMp,
              r2 = if (is.null(res$R2)) NA else res$R2,
              vt = res$vt, ll_ml = res$fit.stats["ll", "ML"], ll_reml = res$fit.stats["ll", "REML"],
              weights = unname(weights(res)))
  if (is.null(mods) && res$k > 1) {
    pr <- predict(res)
    out$pi_lb <- pr$pi.lb
    out$pi_ub <- pr$pi.ub
    pr2 <- predict(res, pi.type = "riley")  # t(k - p - 1) for REML/ML/...: the Higgins 2009 t(k-2)
    if (method != "FE") {
      out$pi_higgins_lb <- pr2$pi.lb
      out$pi_higgins_ub <- pr2$pi.ub
    }
  }
  if (method != "FE" && res$k > 1) {
    ci <- confint(res, control = list(tol = 1e-12))
    out$qp_tau2 <- unname(ci$random["tau^2", ])
    out$qp_i2 <- unname(ci$random["I^2(%)", ])
    out$qp_h2 <- unname(ci$random["H^2", ])
  }
  out
}

dataset_record <- function(name, dat, source, mods = NULL, mods_cols = NULL, intercept = TRUE,
                           newmods = NULL) {
  fits <- list()
  for (m in methods) for (t in tests) {
    fits[[length(fits) + 1]] <- fit_record(dat, m, t, mods, intercept)
  }
  obj <- list(dataset = name, source = source, yi = c(dat$yi), vi = c(dat$vi), fits = fits)
  if (!is.null(mods_cols)) obj$mods <- lapply(mods_cols, function(col) dat[[col]])
  if (!is.null(mods_cols)) names(obj$mods) <- mods_cols
  obj$intercept <- intercept
  if (!is.null(newmods)) {
    preds <- list()
    for (t in c("z", "knha")) {
      res <- rma(yi, vi, mods = mods, data = dat, method = "REML", test = t, control = tight)
      pr <- predict(res, newmods = newmods)
      preds[[t]] <- list(newmods = newmods, pred = pr$pred, se = pr$se, ci_lb = pr$ci.lb,
                         ci_ub = pr$ci.ub, pi_lb = pr$pi.lb, pi_ub = pr$pi.ub)
    }
    obj$predictions <- preds
  }
  obj
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_src <- "metadat::dat.bcg (Colditz et al. 1994, JAMA 271:698, doi:10.1001/jama.1994.03510330076038); escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)"
write_fixture("pooling_bcg_logrr", dataset_record("bcg_logrr", bcg, bcg_src))

nsmd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
               n2i = n2i, data = dat.normand1999)
nmd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
nsrc <- "metadat::dat.normand1999 (Normand 1999, Stat Med 18:321, doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P, Table IV: length of stay, specialist vs routine care)"
write_fixture("pooling_normand1999_smd", dataset_record("normand1999_smd", nsmd,
              paste(nsrc, "; escalc(measure='SMD') (Hedges' g, metafor default large-sample variance)")))
write_fixture("pooling_normand1999_md", dataset_record("normand1999_md", nmd,
              paste(nsrc, "; escalc(measure='MD')")))

hine <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
write_fixture("pooling_hine1989_rd_tau2zero", dataset_record("hine1989_rd", hine,
              "metadat::dat.hine1989 (Hine et al. 1989, Arch Intern Med 149:2694, doi:10.1001/archinte.1989.00390120056011); escalc(measure='RD'); a dataset where every estimator gives tau2 = 0"))

write_fixture("pooling_bcg_k2", dataset_record("bcg_k2", bcg[1:2, ],
              paste(bcg_src, "; first two trials only (k = 2)")))

write_fixture("pooling_bcg_mods", dataset_record("bcg_mods", bcg, paste(bcg_src, "; moderators ablat, year"),
              mods = ~ ablat + year, mods_cols = c("ablat", "year"),
              newmods = cbind(c(10, 30, 50), c(1950, 1960, 1970))))
write_fixture("pooling_bcg_alloc", dataset_record("bcg_alloc", bcg,
              paste(bcg_src, "; categorical moderator alloc (treatment coding, reference 'alternate')"),
              mods = ~ factor(alloc), mods_cols = c("alloc")))

raud <- dat.raudenbush1985
write_fixture("pooling_raudenbush1985_weeks", dataset_record("raudenbush1985_weeks", raud,
              "metadat::dat.raudenbush1985 (Raudenbush 1984/1985; Raudenbush 2009, The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 16); moderator weeks (as published, not capped)",
              mods = ~ weeks, mods_cols = c("weeks"), newmods = c(0, 1, 2, 3, 5)))
write_fixture("pooling_raudenbush1985", dataset_record("raudenbush1985", raud,
              "metadat::dat.raudenbush1985; intercept-only"))

# ---------------------------------------------------------------------------------------------
# Non-convergence of metafor's Fisher scoring (REML) with default control.
# CONSTRUCTED, SIMULATED data (not a published dataset): numpy.random.default_rng(1),
# V ~ Uniform(0.01, 0.1) and Y ~ Normal(0.3, V + 0.05) drawn as (10000, 20) arrays; row 2310
# (0-based) is the one of the first 3000 rows on which metafor's rma() fails. The metafor-project
# page "Convergence Problems with the rma() Function"
# (https://www.metafor-project.org/doku.php/tips:convergence_problems_rma) documents the
# phenomenon, but its example values could not be retrieved from the stored copy, so this
# dataset was constructed instead. Fisher scoring oscillates around the root (0.0011 <-> 0.0013)
# because the expected information underestimates the curvature there.
nc_yi <- c(0.42191943148982214, 0.47112026132521145, -0.20909417704866634, 0.3619161944256284, 0.5256707344802173, 0.34727167393860287, 0.4794956381398008, 0.17120142617941486, 0.601678464303766, 0.1490453294205039, 0.14842159252107026, 0.449699565640385, 0.6674184091426163, 0.1940591907717284, 0.3306741840208813, 0.048100623039893264, 0.2128940431161243, 0.23495100008643793, 0.08920461668760771, 0.3184732384792773)
nc_vi <- c(0.09623984078315673, 0.08400457117052208, 0.09767554561550847, 0.0815898186075526, 0.09779830092977644, 0.046419195528704334, 0.011329211963660688, 0.033454562188320734, 0.07186477745734265, 0.07139011087660559, 0.07405534519664356, 0.05532956096169545, 0.07907990469394666, 0.043484530418583835, 0.08561596550857437, 0.0303703019663168, 0.0541046372561644, 0.08627150959594339, 0.08433290458096834, 0.02419767550076607)
nc_default <- tryCatch({ rma(nc_yi, nc_vi); "converged" }, error = function(e) conditionMessage(e))
nc_step <- rma(nc_yi, nc_vi, control = list(stepadj = 0.5, threshold = 1e-12, maxiter = 10000))
nc_opt <- optimize(function(t) as.numeric(logLik(rma(nc_yi, nc_vi, tau2 = t, method = "REML"))),
                   c(0, 1), maximum = TRUE, tol = 1e-12)
write_fixture("pooling_nonconvergence", list(
  dataset = "constructed_simulated_nonconvergence",
  source = "CONSTRUCTED, SIMULATED: numpy default_rng(1), V ~ U(0.01, 0.1), Y ~ N(0.3, V + 0.05), row 2310 of (10000, 20); see tests/reference/R/pooling.R",
  yi = nc_yi, vi = nc_vi,
  default_call = "rma(yi, vi)", default_result = nc_default,
  stepadj_call = "rma(yi, vi, control = list(stepadj = 0.5, threshold = 1e-12, maxiter = 10000))",
  stepadj_tau2 = nc_step$tau2, stepadj_beta = c(nc_step$beta), stepadj_se = nc_step$se,
  optimize_call = "optimize(function(t) logLik(rma(yi, vi, tau2 = t, method = 'REML')), c(0, 1), maximum = TRUE, tol = 1e-12)",
  optimize_tau2 = nc_opt$maximum, optimize_ll = nc_opt$objective))
