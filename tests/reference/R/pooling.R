# Reference values for inflamed.pooling / inflamed.heterogeneity / inflamed.batch.
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
