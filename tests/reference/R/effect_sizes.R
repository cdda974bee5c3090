# Reference values for inflamed.stats.effect_sizes and inflamed.stats.binary from metafor.
#
# Writes tests/reference/fixtures/effect_sizes_continuous.json,
#        tests/reference/fixtures/effect_sizes_binary.json,
#        tests/reference/fixtures/binary_mh_peto.json
# Each case records the dataset, the exact R call, the inputs and metafor's output at full
# precision (jsonlite digits = NA). Non-finite values are written as the strings "NA", "NaN",
# "Inf", "-Inf" (na = "string").
#
# Run from the repository root:  Rscript tests/reference/R/effect_sizes.R
# tests/reference/make_reference.R sources this file too; it uses its own writer
# (write_es_fixture) so that NA, NaN and +-Inf stay distinguishable ("NA", "NaN", "Inf").
# Written against metafor 3.8.1, metadat, jsonlite; R 4.2.2.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
if (!dir.exists(fixture_dir)) stop("run from the repository root (tests/reference/fixtures missing)")

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  jsonlite = as.character(packageVersion("jsonlite"))
)

write_es_fixture <- function(obj, name) {
  path <- file.path(fixture_dir, name)
  txt <- toJSON(obj, digits = NA, na = "string", auto_unbox = TRUE, pretty = TRUE)
  writeLines(txt, path, useBytes = TRUE)
  message("wrote ", path)
}

run_case <- function(dataset, call_text, inputs, args, env) {
  res <- eval(parse(text = call_text), envir = env)
  list(
    dataset = dataset,
    call = call_text,
    inputs = inputs,
    args = args,
    yi = as.numeric(res$yi),
    vi = as.numeric(res$vi)
  )
}

# ---------------------------------------------------------------------------------------------
# continuous: SMD and MD
# ---------------------------------------------------------------------------------------------
normand <- dat.normand1999
gibson <- dat.gibson2002[!is.na(dat.gibson2002$m1i) & !is.na(dat.gibson2002$sd1i), ]
cont_sets <- list(
  dat.normand1999 = list(data = normand, expr = "dat.normand1999"),
  dat.gibson2002 = list(
    data = gibson,
    expr = "dat.gibson2002[!is.na(dat.gibson2002$m1i) & !is.na(dat.gibson2002$sd1i), ]"
  )
)
cont_cases <- list()
for (nm in names(cont_sets)) {
  d <- cont_sets[[nm]]$data
  env <- new.env()
  assign("d", d, envir = env)
  inputs <- list(
    m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
    m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i
  )
  for (spec in list(
    list(measure = "SMD", vtype = "LS"),
    list(measure = "SMD", vtype = "UB"),
    list(measure = "SMD", vtype = "LS2"),
    list(measure = "SMD", vtype = "AV"),
    list(measure = "MD", vtype = "LS"),
    list(measure = "MD", vtype = "HO")
  )) {
    call_text <- sprintf(
      paste0(
        "escalc(measure = \"%s\", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, ",
        "n2i = n2i, data = d, vtype = \"%s\")"
      ),
      spec$measure, spec$vtype
    )
    case <- run_case(nm, call_text, inputs, spec, env)
    case$data_expr <- paste0("d <- ", cont_sets[[nm]]$expr)
    cont_cases[[length(cont_cases) + 1]] <- case
  }
}
write_es_fixture(list(versions = versions, cases = cont_cases), "effect_sizes_continuous.json")

# ---------------------------------------------------------------------------------------------
# binary: RR, OR, RD with every continuity-correction rule
# ---------------------------------------------------------------------------------------------
bcg <- data.frame(ai = dat.bcg$tpos, n1i = dat.bcg$tpos + dat.bcg$tneg,
                  ci = dat.bcg$cpos, n2i = dat.bcg$cpos + dat.bcg$cneg)
yusuf9 <- dat.yusuf1985[dat.yusuf1985$table == "9" & !is.na(dat.yusuf1985$ai), ]
bin_sets <- list(
  dat.bcg = list(
    data = bcg,
    expr = "data.frame(ai = dat.bcg$tpos, n1i = dat.bcg$tpos + dat.bcg$tneg, ci = dat.bcg$cpos, n2i = dat.bcg$cpos + dat.bcg$cneg)"
  ),
  dat.nielweise2007 = list(data = dat.nielweise2007, expr = "dat.nielweise2007"),
  dat.yusuf1985 = list(
    data = yusuf9,
    expr = "dat.yusuf1985[dat.yusuf1985$table == \"9\" & !is.na(dat.yusuf1985$ai), ]"
  )
)
bin_cases <- list()
for (nm in names(bin_sets)) {
  d <- bin_sets[[nm]]$data
  env <- new.env()
  assign("d", d, envir = env)
  inputs <- list(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
  for (measure in c("RR", "OR", "RD")) {
    for (to in c("only0", "all", "if0all", "none")) {
      for (drop00 in c(FALSE, TRUE)) {
        if (drop00 && to != "only0") next
        args <- list(measure = measure, add = 0.5, to = to, drop00 = drop00)
        call_text <- sprintf(
          paste0(
            "escalc(measure = \"%s\", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, ",
            "add = 1/2, to = \"%s\", drop00 = %s)"
          ),
          measure, to, drop00
        )
        case <- run_case(nm, call_text, inputs, args, env)
        case$data_expr <- paste0("d <- ", bin_sets[[nm]]$expr)
        bin_cases[[length(bin_cases) + 1]] <- case
      }
    }
  }
  # RD variance types
  for (vt in c("UB", "AV")) {
    args <- list(measure = "RD", add = 0.5, to = "only0", drop00 = FALSE, vtype = vt)
    call_text <- sprintf(
      "escalc(measure = \"RD\", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, vtype = \"%s\")", vt
    )
    case <- run_case(nm, call_text, inputs, args, env)
    case$data_expr <- paste0("d <- ", bin_sets[[nm]]$expr)
    bin_cases[[length(bin_cases) + 1]] <- case
  }
}
write_es_fixture(list(versions = versions, cases = bin_cases), "effect_sizes_binary.json")

# ---------------------------------------------------------------------------------------------
# rma.mh and rma.peto
# ---------------------------------------------------------------------------------------------
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
mh_sets <- bin_sets
mh_sets[["dat.bcg (k = 2)"]] <- list(data = bcg[1:2, ], expr = paste0(bin_sets$dat.bcg$expr, "[1:2, ]"))
mh_cases <- list()
for (nm in names(mh_sets)) {
  d <- mh_sets[[nm]]$data
  env <- new.env()
  assign("d", d, envir = env)
  inputs <- list(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
  specs <- list(
    list(fun = "rma.mh", measure = "OR", extra = ""),
    list(fun = "rma.mh", measure = "OR", extra = ", correct = FALSE"),
    list(fun = "rma.mh", measure = "RR", extra = ""),
    list(fun = "rma.mh", measure = "RD", extra = ""),
    list(fun = "rma.mh", measure = "OR", extra = ", add = c(1/2, 1/2), to = c(\"only0\", \"only0\")"),
    list(fun = "rma.mh", measure = "RR", extra = ", drop00 = c(TRUE, TRUE)"),
    list(fun = "rma.peto", measure = "PETO", extra = ""),
    list(fun = "rma.peto", measure = "PETO", extra = ", drop00 = c(TRUE, TRUE)")
  )
  for (s in specs) {
    if (s$fun == "rma.mh") {
      call_text <- sprintf(
        "rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = \"%s\"%s)", s$measure, s$extra
      )
    } else {
      call_text <- sprintf("rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d%s)", s$extra)
    }
    res <- suppressWarnings(eval(parse(text = call_text), envir = env))
    out <- list(
      k = res$k, k_yi = res$k.yi, estimate = num(res$beta), se = num(res$se),
      zval = num(res$zval), pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
      q = num(res$QE), q_pval = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2),
      k_pos = num(res$k.pos)
    )
    if (s$fun == "rma.mh") {
      out$cmh <- num(res$MH); out$cmh_pval <- num(res$MHp)
      out$cochran <- num(res$CO); out$cochran_pval <- num(res$COp)
      out$bd <- num(res$BD); out$bd_pval <- num(res$BDp)
      out$tarone <- num(res$TA); out$tarone_pval <- num(res$TAp)
    }
    mh_cases[[length(mh_cases) + 1]] <- list(
      dataset = nm, data_expr = paste0("d <- ", mh_sets[[nm]]$expr), call = call_text,
      fun = s$fun, measure = s$measure, extra = s$extra, inputs = inputs, result = out
    )
  }
}
write_es_fixture(list(versions = versions, cases = mh_cases), "binary_mh_peto.json")
