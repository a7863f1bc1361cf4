// Cleaning extracted text before chunking.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ingest/document.h"

namespace quire::ingest {

// One page's text: Unicode NFC (not NFKC: superscripts and the like stay); ligatures expanded
// (U+FB00..U+FB06: ﬁ -> fi, ...); soft hyphens, zero-width and direction marks and control
// characters dropped; Unicode spaces and tabs become ' '. Words hyphenated at line ends are
// rejoined when plausible: "embed-\nding" -> "embedding" (ASCII '-' between lowercase letters,
// no other hyphen in the word); otherwise the hyphen stays and no space is added
// ("Hewlett-\nPackard", "state-of-the-\nart", and U+2010 HYPHEN always). Single newlines inside
// a paragraph become spaces, blank lines (and form feeds) separate paragraphs, which come out
// separated by exactly "\n\n"; spaces collapse, no leading or trailing whitespace. Invalid UTF-8
// bytes become U+FFFD, so the result is always valid UTF-8. Pure function, thread-safe.
std::string normalize_page_text(std::string_view text);

// Removes running headers and footers, then normalizes every page (numbers and count kept).
// A header is a line among the first or last two non-empty lines of a page whose text, with
// each digit run masked ("Page 3 of 12" = "Page 4 of 12"), spaces collapsed and case kept, is at
// those places on at least 40% of the pages (and on 2 or more; documents of 3 pages or more).
// Such lines are dropped at the edges, and also elsewhere on a page when 16 bytes or longer
// (reading order can put a running head after a figure). A key must hold a letter or two
// numbers, so lone figure labels are not headers. Bare page numbers at the edges ("12",
// "- 12 -", "Page 12", "12 of 30", "xii") are dropped on every page.
void normalize_pages(std::vector<Page>& pages);

}  // namespace quire::ingest
