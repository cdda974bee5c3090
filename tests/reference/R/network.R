# Reference values for inflamed.stats.network (tests/test_network.py): the contrast-based network
# meta-analysis as metafor's rma.mv on the basic-contrast coding,
#
#   rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, struct = "CS",
#          rho = 1/2, method = "REML" | "FE")
#
# where yi are log odds ratios of every arm against the study's first arm, V is block-diagonal
# (covariance of two contrasts of a study = variance of the shared arm's log odds), X has +1 for
# treat1 and -1 for treat2 (reference column dropped). Zero/full cells: 0.5 added to the events
# and 1 to n of every arm of that study (netmeta's pairwise default); studies with no (or only)
# events in every arm are dropped. Q within designs: rma.mv(method = "FE") on each design's
# studies; Q between designs = Q total - Q within (netmeta's decomp.design algebra; netmeta itself
# is not installed here). Run from the repo root through Rscript tests/reference/make_reference.R
# (it provides write_fixture and ref_dir).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

if (!exists("write_fixture")) {
  stop("run through the fixture writer: Rscript tests/reference/make_reference.R")
}
net_dir <- file.path(dirname(ref_dir), "fixtures", "networks")
net_control <- list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)

# Basic contrasts (log OR of each arm vs the study's first arm) and their covariance blocks.
net_contrasts <- function(study, treat, events, n, incr = 0.5) {
  rows <- list()
  blocks <- list()
  dropped <- character(0)
  for (s in unique(study)) {
    i <- which(study == s)
    e <- events[i]
    m <- n[i]
    if (all(e == 0) || all(e == m)) {
      dropped <- c(dropped, s)
      next
    }
    if (any(e == 0 | e == m)) {
      e <- e + incr
      m <- m + 2 * incr
    }
    lo <- log(e / (m - e))
    v <- 1 / e + 1 / (m - e)
    a <- length(i)
    rows[[length(rows) + 1]] <- data.frame(study = s, treat1 = treat[i][-1], treat2 = treat[i][1],
                                           yi = lo[-1] - lo[1], stringsAsFactors = FALSE)
    b <- matrix(v[1], a - 1, a - 1)
    diag(b) <- diag(b) + v[-1]
    blocks[[length(blocks) + 1]] <- b
  }
  dat <- do.call(rbind, rows)
  dat$comp <- factor(paste(dat$treat1, dat$treat2, sep = " vs "))
  list(dat = dat, V = bldiag(blocks), dropped = dropped)
}

contrast_x <- function(dat, columns) {
  X <- sapply(columns, function(t) (dat$treat1 == t) - (dat$treat2 == t))
  matrix(X, nrow = nrow(dat), dimnames = list(NULL, columns))
}

network_record <- function(name, study, treat, events, n, reference, source) {
  cc <- net_contrasts(study, treat, events, n)
  dat <- cc$dat
  V <- cc$V
  trts <- sort(unique(c(dat$treat1, dat$treat2)), method = "radix")
  others <- trts[trts != reference]
  X <- contrast_x(dat, others)
  fits <- list()
  for (method in c("FE", "REML")) {
    res <- if (method == "FE") {  # the common-effect model has no random term
      rma.mv(dat$yi, V, mods = X, intercept = FALSE, data = dat, method = "FE",
             control = net_control)
    } else {
      rma.mv(dat$yi, V, mods = X, intercept = FALSE, random = ~ comp | study,
             struct = "CS", rho = 1/2, data = dat, method = method, control = net_control)
    }
    fits[[method]] <- list(
      call = sprintf("rma.mv(yi, V, mods = X, intercept = FALSE, %smethod = '%s', control = list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000))",
                     if (method == "FE") "" else "random = ~ comp | study, struct = 'CS', rho = 1/2, ", method),
      treatments = others, beta = c(res$beta), se = res$se,
      tau2 = if (method == "FE") 0 else res$tau2,
      q = res$QE, q_df = res$k - res$p, q_pval = res$QEp,
      ll_reml = if (method == "FE") NA else as.numeric(logLik(res)),
      vb = unname(res$vb))
  }
  # Q within designs: common-effect fit to the studies of each design
  arms <- tapply(c(dat$treat1, dat$treat2), c(dat$study, dat$study),
                 function(x) paste(sort(unique(x), method = "radix"), collapse = ":"))
  designs <- sort(unique(arms), method = "radix")
  drows <- list()
  for (d in designs) {
    ss <- names(arms)[arms == d]
    sel <- dat$study %in% ss
    tr <- strsplit(d, ":", fixed = TRUE)[[1]]
    q <- 0
    df <- 0
    if (length(ss) > 1) {
      sub <- dat[sel, ]
      r <- rma.mv(sub$yi, V[sel, sel], mods = contrast_x(sub, tr[-1]), intercept = FALSE,
                  method = "FE", control = net_control)
      q <- r$QE
      df <- r$k - r$p
    }
    drows[[length(drows) + 1]] <- list(design = d, k = length(ss), q = q, df = df)
  }
  q_within <- sum(sapply(drows, function(r) r$q))
  df_within <- sum(sapply(drows, function(r) r$df))
  list(dataset = name, source = source, reference = reference, treatments = trts,
       n_contrasts = nrow(dat), k = length(unique(dat$study)), dropped = cc$dropped,
       yi = dat$yi, vi = diag(V), fits = fits,
       q_within = q_within, df_within = df_within,
       q_between = fits$FE$q - q_within, df_between = fits$FE$q_df - df_within,
       designs = drows)
}

cip <- read.csv(file.path(net_dir, "cipriani2009.csv"), stringsAsFactors = FALSE)
write_fixture("network_cipriani2009", network_record(
  "cipriani2009", cip$study, cip$treatment, cip$responders, cip$sampleSize, "fluoxetine",
  paste("Cipriani et al. 2009, Lancet 373:746, doi:10.1016/S0140-6736(09)60046-5; gemtc 0.8-4",
        "`depression` data (tests/fixtures/networks/cipriani2009.csv); response, log OR")))

lin <- read.csv(file.path(net_dir, "linde2015.csv"), stringsAsFactors = FALSE)
long <- do.call(rbind, lapply(1:3, function(j) data.frame(
  study = as.character(lin$id), arm = j, treatment = lin[[paste0("treatment", j)]],
  resp = lin[[paste0("resp", j)]], n = lin[[paste0("n", j)]], stringsAsFactors = FALSE)))
long <- long[!is.na(long$treatment) & long$treatment != "" & !is.na(long$resp) & !is.na(long$n), ]
long <- long[order(match(long$study, unique(as.character(lin$id))), long$arm), ]
keep <- names(which(table(long$study) >= 2))
long <- long[long$study %in% keep, ]
write_fixture("network_linde2015", network_record(
  "linde2015", long$study, long$treatment, long$resp, long$n, "Placebo",
  paste("Linde et al. 2015, Ann Fam Med 13:69, doi:10.1370/afm.1687; metadat 1.x dat.linde2015",
        "(tests/fixtures/networks/linde2015.csv); response (resp), log OR; arms without a",
        "response count left out, studies with fewer than two such arms dropped")))
