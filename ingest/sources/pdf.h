// The PDF source: text per page through poppler-cpp, in reading order, and the title.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "ingest/document.h"

namespace quire::ingest {

// Extracts the pages of the PDF held in `bytes` (the whole file, e.g. a MappedFile's bytes, at
// most INT_MAX long; read in place, never copied, and only during the call). `path` is only
// quoted in messages and used for the file-stem title. Text comes from poppler in reading order
// (the layout `pdftotext` uses by default: columns one after the other), one Page per PDF page,
// empty pages kept so that numbers stay right. The title follows ExtractedDocument::title.
// poppler's diagnostics are captured (never printed) and quoted in errors; they are logged at
// debug level otherwise.
//
// Errors: kDataLoss "not a PDF (...)" (empty, no %PDF- header in the first KiB) and
// "truncated or damaged PDF" (poppler cannot load it, no pages, or no text and no %%EOF),
// kFailedPrecondition for a PDF that needs a password or has no text layer ("no extractable
// text (scanned image?)": fewer than 40 letters or digits per page). std::bad_alloc propagates
// (extract.h catches it). Calls for different files may run concurrently.
Result<ExtractedDocument> extract_pdf(const std::string& path, std::string_view bytes);

}  // namespace quire::ingest
