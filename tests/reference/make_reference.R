#!/usr/bin/env Rscript
# Regenerate the metafor reference fixtures that the pytest suite compares against (no R at test
# time). Run from the repository root:
#
#     Rscript tests/reference/make_reference.R
#
# Pinned: R 4.2.2, metafor 3.8-1, metadat, jsonlite. The script refuses other metafor versions
# unless INFLAMED_ALLOW_OTHER_METAFOR=1 is set, because fixtures are compared to 1e-6 / 1e-10.
#
# Every file in tests/reference/R/*.R is sourced in sorted order. Each may call
#   write_fixture(name, obj)   -> tests/reference/fixtures/<name>.json
#   tight                      -> rma() control list for tight convergence
# and should record the exact R call beside each value (a "call" string in the object).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

if (as.character(packageVersion("metafor")) != "3.8.1" &&
    Sys.getenv("INFLAMED_ALLOW_OTHER_METAFOR") != "1") {
  stop("fixtures are pinned to metafor 3.8-1; found ", packageVersion("metafor"))
}

args <- commandArgs(trailingOnly = FALSE)
self <- sub("^--file=", "", args[grep("^--file=", args)])
ref_dir <- if (length(self)) dirname(normalizePath(self)) else file.path("tests", "reference")
fixture_dir <- file.path(ref_dir, "fixtures")
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)

tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

write_fixture <- function(name, obj) {
  obj <- c(list(generated_by = "tests/reference/make_reference.R",
                r_version = R.version.string,
                metafor_version = as.character(packageVersion("metafor"))), obj)
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                    pretty = TRUE), path)
  message("wrote ", path)
}

for (script in sort(list.files(file.path(ref_dir, "R"), pattern = "\\.R$", full.names = TRUE))) {
  message("sourcing ", script)
  local(source(script, local = TRUE))
}
