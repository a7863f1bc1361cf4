#include "ingest/sources/pdf.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/log.h"
#include "ingest/text_util.h"
#include "ingest/title.h"

namespace quire::ingest {
namespace {

std::string to_std_string(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

constexpr size_t kMaxPopplerMessages = 32;

// poppler reports through one process-wide callback, synchronously on the thread that does the
// work; each extraction collects the messages of its own thread.
thread_local std::vector<std::string>* t_poppler_messages = nullptr;

void on_poppler_message(const std::string& message, void* /*closure*/) {
  if (t_poppler_messages != nullptr) {
    if (t_poppler_messages->size() < kMaxPopplerMessages) t_poppler_messages->push_back(message);
    return;
  }
  QUIRE_LOG_DEBUG("poppler: %s", message.c_str());
}

// Captures poppler's diagnostics for the lifetime of the object (on this thread).
class PopplerMessages {
 public:
  PopplerMessages() : previous_(t_poppler_messages) {
    static std::once_flag once;
    std::call_once(once, [] { poppler::set_debug_error_function(on_poppler_message, nullptr); });
    t_poppler_messages = &messages_;
  }
  ~PopplerMessages() { t_poppler_messages = previous_; }
  PopplerMessages(const PopplerMessages&) = delete;
  PopplerMessages& operator=(const PopplerMessages&) = delete;

  // The first few distinct messages, "; "-separated, or "no details".
  std::string summary() const {
    std::vector<std::string> distinct;
    for (const std::string& m : messages_) {
      if (std::find(distinct.begin(), distinct.end(), m) == distinct.end()) distinct.push_back(m);
      if (distinct.size() == 3) break;
    }
    if (distinct.empty()) return "no details";
    std::string out;
    for (const std::string& m : distinct) {
      if (!out.empty()) out += "; ";
      out += m;
    }
    return out;
  }
  void log_all(const std::string& path) const {
    for (const std::string& m : messages_)
      QUIRE_LOG_DEBUG("poppler (%s): %s", path.c_str(), m.c_str());
  }

 private:
  std::vector<std::string> messages_;
  std::vector<std::string>* previous_;
};

constexpr size_t kPdfHeaderWindow = 1024;  // readers accept junk before %PDF- within 1 KiB
constexpr size_t kPdfTrailerWindow = 2048;
// A PDF whose pages hold fewer letters and digits than this on average has no usable text layer
// (real papers in the test set hold 1,200 or more per page; the image-only scan holds none).
constexpr int64_t kMinTextCharsPerPage = 40;

// The first bytes, for "got ..." in messages: printable ASCII as is, the rest as \xNN.
std::string describe_start(std::string_view bytes) {
  std::string out;
  for (char c : bytes.substr(0, 16)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

// The lines of type in the top 60% of the page, top to bottom, for title_from_type_sizes.
// Rotated text (the arXiv stamp in the margin) and boxes without font information are left out.
std::vector<TypesetLine> typeset_lines(const poppler::page& page) {
  const double top_region = page.page_rect().height() * 0.6;
  struct Extent {
    double top = 0;
    double bottom = 0;
    double right = 0;
  };
  std::vector<TypesetLine> lines;
  std::vector<Extent> extents;  // per line
  for (const poppler::text_box& box : page.text_list(poppler::page::text_list_include_font)) {
    const poppler::rectf r = box.bbox();
    const double size = box.get_font_size();
    // Rotated text, such as the arXiv stamp in the margin, is taller than its type.
    if (box.rotation() != 0 || !box.has_font_info() || r.top() > top_region ||
        r.height() > 2.0 * size) {
      continue;
    }
    const double middle = (r.top() + r.bottom()) / 2;
    const bool same_line =
        !lines.empty() && middle >= extents.back().top && middle <= extents.back().bottom;
    if (!same_line) {
      lines.push_back({{}, 0});
      extents.push_back({r.top(), r.bottom(), r.left()});
    }
    TypesetLine& line = lines.back();
    Extent& extent = extents.back();
    TypesetPart part{to_std_string(box.text()), size,
                     same_line && r.left() - extent.right < 0.15 * std::min(size, line.size)};
    if (text_shape(part.text).letters > 0) line.size = std::max(line.size, size);
    extent.top = std::min(extent.top, r.top());
    extent.bottom = std::max(extent.bottom, r.bottom());
    extent.right = r.right();
    line.parts.push_back(std::move(part));
  }
  return lines;
}

}  // namespace

Result<ExtractedDocument> extract_pdf(const std::string& path, std::string_view bytes) {
  if (bytes.empty()) return data_loss_error("not a PDF (empty file): '" + path + "'");
  if (bytes.substr(0, kPdfHeaderWindow).find("%PDF-") == std::string_view::npos) {
    return data_loss_error("not a PDF (no %PDF- header in the first " +
                           std::to_string(kPdfHeaderWindow) + " bytes, got \"" +
                           describe_start(bytes) + "\"): '" + path + "'");
  }
  const size_t tail = bytes.size() > kPdfTrailerWindow ? bytes.size() - kPdfTrailerWindow : 0;
  const bool has_eof_marker = bytes.find("%%EOF", tail) != std::string_view::npos;

  PopplerMessages messages;
  // load_from_raw_data reads `bytes` in place: they outlive `doc`, which dies with this call.
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (doc == nullptr) {
    return data_loss_error(
        "truncated or damaged PDF: '" + path + "' (" + std::to_string(bytes.size()) + " bytes" +
        (has_eof_marker ? "" : ", no %%EOF marker") + "; poppler: " + messages.summary() + ")");
  }
  if (doc->is_locked()) {
    return failed_precondition_error("encrypted PDF needs a password: '" + path + "'");
  }
  const int n_pages = doc->pages();
  if (n_pages <= 0) {
    return data_loss_error("truncated or damaged PDF: '" + path + "' has no readable pages (" +
                           "poppler: " + messages.summary() + ")");
  }

  ExtractedDocument out;
  out.pages.reserve(static_cast<size_t>(n_pages));
  int64_t text_chars = 0;
  std::unique_ptr<poppler::page> first_page;
  for (int i = 0; i < n_pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    Page extracted;
    extracted.number = i + 1;
    if (page != nullptr) {
      // non_raw_non_physical_layout is pdftotext's default mode: text blocks in reading order
      // (a two-column page gives the left column, then the right one). physical_layout keeps
      // the columns side by side on each line; raw_order_layout follows the content stream,
      // which some producers write glyph by glyph or out of order.
      extracted.text =
          to_std_string(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
      while (!extracted.text.empty() && extracted.text.back() == '\f') extracted.text.pop_back();
      text_chars += text_shape(extracted.text).alnum;
    }
    if (i == 0) first_page = std::move(page);
    out.pages.push_back(std::move(extracted));
  }
  if (text_chars < kMinTextCharsPerPage * n_pages) {
    if (!has_eof_marker) {
      return data_loss_error(
          "truncated or damaged PDF: '" + path +
          "' yields no text and has no %%EOF marker (poppler: " + messages.summary() + ")");
    }
    return failed_precondition_error(
        "no extractable text (scanned image?): '" + path + "' has " + std::to_string(n_pages) +
        " pages and " + std::to_string(text_chars) + " letters or digits, expected at least " +
        std::to_string(kMinTextCharsPerPage) + " per page");
  }

  // Title: metadata when it is real and printed on page 1, else the largest type on page 1.
  out.title = title_from_metadata(to_std_string(doc->info_key("Title")), out.pages.front().text);
  if (out.title.empty() && first_page != nullptr) {
    out.title = clean_title(title_from_type_sizes(typeset_lines(*first_page)));
  }
  if (out.title.empty()) out.title = clean_title(first_meaningful_line(out.pages.front().text));
  if (out.title.empty()) out.title = file_stem(path);
  messages.log_all(path);
  return out;
}

}  // namespace quire::ingest
