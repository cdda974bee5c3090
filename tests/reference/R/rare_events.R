# Reference values for the rare-event analyses of binary outcomes (inflamed.rare_events and
# inflamed.stats.binary): Mantel-Haenszel risk difference with double-zero tables, and Peto.
#
# Writes tests/reference/fixtures/binary_rare_events.json. Each case records the exact R call,
# the 2x2 inputs and metafor's output at full precision; non-finite values are the strings "NA",
# "NaN", "Inf", "-Inf" (as binary_mh_peto.json, so tests/test_binary.py's reader applies).
#
# The tables are small constructed cases, not data: a lone double-zero trial of 30 vs 30 patients
# (the shape of a serious-adverse-event result with no events in either arm), two double-zero
# trials, and a mixed set (one double-zero, one single-zero, one with events in both arms).
#
# Run from the repository root:  Rscript tests/reference/R/rare_events.R
# Written against metafor 3.8.1, jsonlite; R 4.2.2.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
if (!dir.exists(fixture_dir)) stop("run from the repository root (tests/reference/fixtures missing)")

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

sets <- list(
  "one double-zero table (0/30 vs 0/30)" = data.frame(ai = 0, n1i = 30, ci = 0, n2i = 30),
  "two double-zero tables" = data.frame(ai = c(0, 0), n1i = c(30, 45), ci = c(0, 0), n2i = c(30, 44)),
  "mixed: double-zero, single-zero, events in both arms" = data.frame(
    ai = c(0, 2, 1), n1i = c(30, 25, 40), ci = c(0, 0, 3), n2i = c(30, 24, 41)
  )
)
corrected <- ", add = c(1/2, 1/2), to = c(\"only0\", \"only0\")"
specs <- list(
  list(fun = "rma.mh", measure = "RD", extra = ""),
  list(fun = "rma.mh", measure = "RD", extra = corrected),
  list(fun = "rma.peto", measure = "PETO", extra = "")
)

cases <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  for (s in specs) {
    if (s$fun == "rma.mh") {
      call_text <- sprintf(
        "rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = \"%s\"%s)", s$measure, s$extra
      )
    } else {
      call_text <- sprintf("rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d%s)", s$extra)
    }
    res <- tryCatch(suppressWarnings(eval(parse(text = call_text))), error = function(e) e)
    if (inherits(res, "error")) {
      out <- list(error = conditionMessage(res))
    } else {
      out <- list(
        k = res$k, k_yi = res$k.yi, estimate = num(res$beta), se = num(res$se),
        zval = num(res$zval), pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
        q = num(res$QE), q_pval = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2)
      )
    }
    cases[[length(cases) + 1]] <- list(
      dataset = nm, call = call_text, fun = s$fun, measure = s$measure, extra = s$extra,
      inputs = as.list(d), result = out
    )
  }
}

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  jsonlite = as.character(packageVersion("jsonlite"))
)
path <- file.path(fixture_dir, "binary_rare_events.json")
txt <- toJSON(list(versions = versions, cases = cases), digits = NA, na = "string",
              auto_unbox = TRUE, pretty = TRUE)
writeLines(txt, path, useBytes = TRUE)
message("wrote ", path)
