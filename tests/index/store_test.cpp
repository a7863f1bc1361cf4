#include "index/store.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "index/migrations.h"
#include "index/sqlite_db.h"
#include "tests/index/store_test_support.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

namespace fs = std::filesystem;

using namespace test_util;  // NOLINT(google-build-using-namespace): tests/index helpers

std::set<int64_t> bm25_ids(Store& store, const std::string& query, int64_t k = 100) {
  auto hits = store.search_bm25(query, k);
  EXPECT_TRUE(hits.ok()) << query << ": " << hits.status().to_string();
  if (!hits.ok()) return {};
  auto ids = hit_ids(*hits);
  return std::set<int64_t>(ids.begin(), ids.end());
}

std::vector<SearchHit> dense(Store& store, const std::vector<float>& query, int64_t k = 100) {
  auto hits = store.search_dense(query, k);
  EXPECT_TRUE(hits.ok()) << hits.status().to_string();
  return hits.ok() ? *hits : std::vector<SearchHit>{};
}

// Every chunk id in SQLite (over all documents), sorted.
std::vector<int64_t> all_chunk_ids(Store& store) {
  std::vector<int64_t> ids;
  auto docs = store.list_documents();
  EXPECT_TRUE(docs.ok());
  for (const DocumentRecord& doc : *docs) {
    auto chunks = store.chunks_of(doc.id);
    EXPECT_TRUE(chunks.ok());
    for (const ChunkRecord& chunk : *chunks) ids.push_back(chunk.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// SQLite, FTS5 and FAISS hold the same chunks: every chunk is found by BM25 on its first word and
// by dense search on `vector_of(chunk)`, and a dense search over everything returns exactly the
// chunk ids in SQLite.
void expect_consistent(Store& store) {
  std::vector<int64_t> ids = all_chunk_ids(store);
  auto count = store.chunk_count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, static_cast<int64_t>(ids.size()));
  auto vectors = store.vector_count();
  ASSERT_TRUE(vectors.ok());
  EXPECT_EQ(*vectors, static_cast<int64_t>(ids.size()));
  auto everything = dense(store, random_unit_vector(999), 1000);
  std::vector<int64_t> found = hit_ids(everything);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, ids);
  auto chunks = store.get_chunks(ids);
  ASSERT_TRUE(chunks.ok());
  for (const ChunkRecord& chunk : *chunks) {
    const std::string first_word = chunk.text.substr(0, chunk.text.find(' '));
    EXPECT_TRUE(bm25_ids(store, first_word).contains(chunk.id)) << first_word;
  }
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- creation, reopening, migrations ---

TEST(StoreTest, CreatesAndReopens) {
  test::TempDir tmp;
  const std::string dir = tmp.file("nested/index");
  int64_t doc_id = 0;
  {
    auto store = open_store(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), latest_schema_version());
    EXPECT_EQ(store->schema_version(), 3);
    EXPECT_EQ(store->generation(), 0);
    EXPECT_FALSE(store->repair_report().repaired);
    auto model = store->embedding_model();
    ASSERT_TRUE(model.ok());
    EXPECT_FALSE(model->has_value());
    auto id = store->put_document(make_doc("/docs/a.txt"), make_chunks({"alpha beta"}), {});
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    doc_id = *id;
    EXPECT_EQ(store->generation(), 1);
  }
  EXPECT_TRUE(fs::exists(dir + "/quire.db"));
  auto store = open_store(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->repair_report().repaired) << store->repair_report().what;
  EXPECT_EQ(store->generation(), 1);
  auto doc = store->find_document("/docs/a.txt");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->has_value());
  const DocumentRecord& record = **doc;
  EXPECT_EQ(record.id, doc_id);
  EXPECT_EQ(record.sha256, std::string(64, '0'));
  EXPECT_EQ(record.mtime, 1700000000);
  EXPECT_EQ(record.size, 1234);
  EXPECT_EQ(record.title, "Title of /docs/a.txt");
  EXPECT_EQ(record.pages, 3);
  EXPECT_EQ(record.status, "indexed");
  EXPECT_EQ(record.error, "");
  auto chunks = store->chunks_of(doc_id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ((*chunks)[0].text, "alpha beta");
  EXPECT_EQ((*chunks)[0].doc_id, doc_id);
  EXPECT_EQ((*chunks)[0].page_start, 1);
  EXPECT_EQ((*chunks)[0].page_end, 2);
  EXPECT_EQ((*chunks)[0].char_end, 10);
  // A BM25-only store writes no vectors file.
  EXPECT_TRUE(store->flush().ok());
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_FALSE(contains(entry.path().filename().string(), "faiss")) << entry.path();
  }
}

TEST(StoreTest, RefusesAFileAsDirectory) {
  test::TempDir tmp;
  test::write_file(tmp.file("plain"), {1, 2, 3});
  auto store = Store::open(tmp.file("plain"));
  EXPECT_FALSE(store.ok());
}

TEST(StoreTest, PageStartsRoundTripAndOldRowsReadAsUnknown) {
  test::TempDir tmp;
  {
    auto db = SqliteDb::open(tmp.file("quire.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(migrate(**db, 2).ok());
    ASSERT_TRUE(
        (*db)->exec("INSERT INTO documents(path, status) VALUES ('/v2.txt', 'indexed')").ok());
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto old = store->find_document("/v2.txt");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_TRUE((*old)->page_starts.empty());
  DocumentRecord doc = make_doc("/paged.pdf");
  doc.pages = 3;
  doc.page_starts = {0, 1200, 2405};
  auto id = store->put_document(doc, make_chunks({"page one text"}), {});
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto back = store->get_document(*id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->page_starts, (std::vector<int64_t>{0, 1200, 2405}));
  EXPECT_EQ(page_at(**back, 0), 1);
  EXPECT_EQ(page_at(**back, 1199), 1);
  EXPECT_EQ(page_at(**back, 1200), 2);
  EXPECT_EQ(page_at(**back, 99999), 3);
}

TEST(StoreTest, MigratesAVersion1Database) {
  test::TempDir tmp;
  {
    auto db = SqliteDb::open(tmp.file("quire.db"));
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    auto version = migrate(**db, 1);
    ASSERT_TRUE(version.ok()) << version.status().to_string();
    EXPECT_EQ(*version, 1);
    ASSERT_TRUE((*db)
                    ->exec("INSERT INTO documents(path, status) VALUES ('/old.txt', 'indexed');"
                           "INSERT INTO chunks(doc_id, ord, page_start, page_end, char_start, "
                           "char_end, n_tokens, text) VALUES (1, 0, 1, 1, 0, 9, 2, 'legacy row')")
                    .ok());
    auto read = read_schema_version(**db);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(*read, 1);
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), 3);
  auto doc = store->find_document("/old.txt");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->has_value());
  EXPECT_EQ(bm25_ids(*store, "legacy").size(), 1u);
  // Migration 2 created its index.
  auto db = SqliteDb::open(tmp.file("quire.db"));
  ASSERT_TRUE(db.ok());
  auto query = (*db)->prepare_uncached(
      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'chunks_doc_id_ord'");
  ASSERT_TRUE(query.ok());
  auto row = query->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query->column_int64(0), 1);
}

TEST(StoreTest, RefusesANewerSchema) {
  test::TempDir tmp;
  { ASSERT_NE(open_store(tmp.path()), nullptr); }
  {
    auto db = SqliteDb::open(tmp.file("quire.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'").ok());
  }
  auto store = Store::open(tmp.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(store.status().message(), "schema version 99")) << store.status().message();
}

TEST(StoreTest, CorruptDatabaseIsDataLoss) {
  test::TempDir tmp;
  std::vector<uint8_t> garbage(8192, 0x5a);
  test::write_file(tmp.file("quire.db"), garbage);
  auto store = Store::open(tmp.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().to_string();
  EXPECT_TRUE(contains(store.status().message(), "quire.db")) << store.status().message();
}

TEST(StoreTest, MigrationsAreNumberedInOrder) {
  auto all = migrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, static_cast<int64_t>(i + 1));
  EXPECT_EQ(latest_schema_version(), static_cast<int64_t>(all.size()));
}

// --- documents, chunks, vectors ---

TEST(StoreTest, PutReplaceRemoveKeepSqliteFtsAndFaissInAgreement) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path());
  ASSERT_NE(store, nullptr);

  auto a_vectors = make_vectors(100, 3);
  auto a = store->put_document(make_doc("/a.pdf"),
                               make_chunks({"aardvark one", "anteater two", "armadillo three"}),
                               a_vectors);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b_vectors = make_vectors(200, 2);
  auto b = store->put_document(make_doc("/b.pdf"), make_chunks({"bison four", "buffalo five"}),
                               b_vectors);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(store->generation(), 2);
  expect_consistent(*store);

  auto a_chunks = store->chunks_of(*a);
  ASSERT_TRUE(a_chunks.ok());
  ASSERT_EQ(a_chunks->size(), 3u);
  const int64_t anteater = (*a_chunks)[1].id;
  EXPECT_EQ(bm25_ids(*store, "anteater"), std::set<int64_t>{anteater});
  auto hits = dense(*store, a_vectors[1], 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].chunk_id, anteater);

  // Replace A: same id, new chunks; the old text and vectors are gone from all three.
  auto a2_vectors = make_vectors(300, 2);
  auto a2 = store->put_document(make_doc("/a.pdf"), make_chunks({"albatross six", "alpaca seven"}),
                                a2_vectors);
  ASSERT_TRUE(a2.ok()) << a2.status().to_string();
  EXPECT_EQ(*a2, *a);
  EXPECT_EQ(store->generation(), 3);
  EXPECT_TRUE(bm25_ids(*store, "anteater").empty());
  EXPECT_TRUE(bm25_ids(*store, "aardvark armadillo").empty());
  for (const SearchHit& hit : dense(*store, a_vectors[1])) {
    for (const ChunkRecord& old : *a_chunks) EXPECT_NE(hit.chunk_id, old.id);
  }
  auto replaced = store->chunks_of(*a);
  ASSERT_TRUE(replaced.ok());
  ASSERT_EQ(replaced->size(), 2u);
  EXPECT_GT((*replaced)[0].id, (*a_chunks)[2].id);  // ids are never reused
  EXPECT_EQ(dense(*store, a2_vectors[0], 1)[0].chunk_id, (*replaced)[0].id);
  expect_consistent(*store);

  // Remove B.
  auto b_chunks = store->chunks_of(*b);
  ASSERT_TRUE(b_chunks.ok());
  ASSERT_TRUE(store->remove_document(*b).ok());
  EXPECT_EQ(store->generation(), 4);
  auto gone = store->get_document(*b);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(store->chunks_of(*b)->empty());
  EXPECT_TRUE(bm25_ids(*store, "bison buffalo").empty());
  for (const SearchHit& hit : dense(*store, b_vectors[0])) {
    for (const ChunkRecord& old : *b_chunks) EXPECT_NE(hit.chunk_id, old.id);
  }
  EXPECT_EQ(*store->vector_count(), 2);
  expect_consistent(*store);
  Status again = store->remove_document(*b);
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_EQ(store->generation(), 4);

  // The same holds after a reopen from the flushed file.
  ASSERT_TRUE(store->flush().ok());
  EXPECT_TRUE(fs::exists(tmp.file("vectors.4.faiss")));
  store.reset();
  store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->repair_report().repaired) << store->repair_report().what;
  expect_consistent(*store);
}

TEST(StoreTest, ListsAndFetchesChunksInTheOrderAsked) {
  test::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto z = store->put_document(make_doc("/z.txt"), make_chunks({"zeta", "zulu"}), {});
  auto m = store->put_document(make_doc("/m.txt"), make_chunks({"mike"}), {});
  ASSERT_TRUE(z.ok() && m.ok());
  auto docs = store->list_documents();
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].path, "/m.txt");
  EXPECT_EQ((*docs)[1].path, "/z.txt");
  auto z_chunks = store->chunks_of(*z);
  auto m_chunks = store->chunks_of(*m);
  ASSERT_TRUE(z_chunks.ok() && m_chunks.ok());
  auto got = store->get_chunks({(*m_chunks)[0].id, 424242, (*z_chunks)[1].id, (*z_chunks)[0].id});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].text, "mike");
  EXPECT_EQ((*got)[1].text, "zulu");
  EXPECT_EQ((*got)[2].text, "zeta");
  EXPECT_EQ(*store->chunk_count(), 3);
  EXPECT_EQ(*store->vector_count(), 0);
  auto without = store->documents_without_vectors();
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->size(), 2u);
}

TEST(StoreTest, PutFailureReplacesAndIsReplaced) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path());
  ASSERT_NE(store, nullptr);
  auto id = store->put_document(make_doc("/x.pdf"), make_chunks({"xylophone"}), make_vectors(1, 1));
  ASSERT_TRUE(id.ok());
  DocumentRecord failed = make_doc("/x.pdf");
  failed.error = "truncated PDF: xref table missing";
  ASSERT_TRUE(store->put_failure(failed).ok());
  auto doc = store->find_document("/x.pdf");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->id, *id);
  EXPECT_EQ((*doc)->status, "failed");
  EXPECT_EQ((*doc)->error, "truncated PDF: xref table missing");
  EXPECT_EQ(*store->chunk_count(), 0);
  EXPECT_EQ(*store->vector_count(), 0);
  EXPECT_TRUE(bm25_ids(*store, "xylophone").empty());

  auto again = store->put_document(make_doc("/x.pdf"), make_chunks({"xylophone"}), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
  doc = store->find_document("/x.pdf");
  EXPECT_EQ((*doc)->status, "indexed");
  EXPECT_EQ((*doc)->error, "");

  // A new path can fail too.
  DocumentRecord other = make_doc("/y.pdf");
  other.error = "permission denied";
  ASSERT_TRUE(store->put_failure(other).ok());
  EXPECT_EQ((*store->find_document("/y.pdf"))->status, "failed");
  EXPECT_EQ(store->put_failure(DocumentRecord{}).code(), StatusCode::kInvalidArgument);
}

TEST(StoreTest, RefusesInvalidArguments) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path());
  ASSERT_NE(store, nullptr);
  const auto chunks = make_chunks({"one", "two"});

  auto too_few = store->put_document(make_doc("/d"), chunks, make_vectors(1, 1));
  EXPECT_EQ(too_few.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(too_few.status().message(), "1 vectors for 2 chunks"))
      << too_few.status().message();

  auto wrong_dim = make_vectors(1, 2);
  wrong_dim[1].push_back(0.0f);
  auto bad_dim = store->put_document(make_doc("/d"), chunks, wrong_dim);
  EXPECT_EQ(bad_dim.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(bad_dim.status().message(), "vector 1 has dimension 9, expected 8"))
      << bad_dim.status().message();

  auto nan = make_vectors(1, 2);
  nan[0][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(store->put_document(make_doc("/d"), chunks, nan).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(store->put_document(make_doc(""), chunks, {}).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(store->search_dense(std::vector<float>(7, 0.1f), 3).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->search_dense(random_unit_vector(1), -1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->search_bm25("one", -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->set_embedding_model(test_model("x", 0), false).code(),
            StatusCode::kInvalidArgument);

  // Nothing was written.
  EXPECT_EQ(store->generation(), 0);
  EXPECT_EQ(*store->chunk_count(), 0);
  EXPECT_FALSE(store->find_document("/d")->has_value());
}

// --- BM25 ---

TEST(StoreTest, Bm25RanksByTermFrequencyAndStems) {
  test::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto id = store->put_document(
      make_doc("/bm25.txt"),
      make_chunks({"embedding models map a sentence to one vector",
                   "embedding after embedding: the embedding of an embedding is an embedding",
                   "cooking pasta needs salted water", "Le café est très bon"}),
      {});
  ASSERT_TRUE(id.ok());
  auto chunks = *store->chunks_of(*id);

  auto hits = store->search_bm25("embedding", 10);
  ASSERT_TRUE(hits.ok()) << hits.status().to_string();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].chunk_id, chunks[1].id);  // five occurrences beat one
  EXPECT_EQ((*hits)[1].chunk_id, chunks[0].id);
  EXPECT_GT((*hits)[0].score, (*hits)[1].score);
  EXPECT_GT((*hits)[1].score, 0.0);  // -bm25: higher is better and positive for a match

  // Porter: "embeddings" and "embedded" reduce to the same stem as "embedding".
  EXPECT_EQ(bm25_ids(*store, "embeddings"), (std::set<int64_t>{chunks[0].id, chunks[1].id}));
  EXPECT_EQ(bm25_ids(*store, "Embedded"), (std::set<int64_t>{chunks[0].id, chunks[1].id}));
  // Terms are OR-ed.
  EXPECT_EQ(bm25_ids(*store, "pasta vector"), (std::set<int64_t>{chunks[0].id, chunks[2].id}));
  // Diacritics are folded both ways.
  EXPECT_EQ(bm25_ids(*store, "cafe"), std::set<int64_t>{chunks[3].id});
  EXPECT_EQ(bm25_ids(*store, "TRES"), std::set<int64_t>{chunks[3].id});
  // k limits the hits, best first.
  auto one = store->search_bm25("embedding", 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].chunk_id, chunks[1].id);
  // A rare term outweighs a common one (IDF): "pasta" is in 1 of 4 chunks, "embedding" in 2.
  auto rare = store->search_bm25("embedding pasta", 1);
  ASSERT_TRUE(rare.ok());
  ASSERT_EQ(rare->size(), 1u);
  EXPECT_EQ((*rare)[0].chunk_id, chunks[2].id);
  EXPECT_TRUE(store->search_bm25("embedding", 0)->empty());
}

TEST(StoreTest, PhraseSearchNeedsAdjacentTermsInOrder) {
  test::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto id = store->put_document(
      make_doc("/phrase.txt"),
      make_chunks({"EfficientNet-B3 reaches 81% top-1 accuracy",
                   "B7 blocks and an EfficientNet backbone", "we trained efficientnet b7 models"}),
      {});
  ASSERT_TRUE(id.ok());
  auto chunks = *store->chunks_of(*id);
  auto ids = [&](const std::string& text) {
    std::set<int64_t> out;
    auto hits = store->search_phrase(text, 10);
    EXPECT_TRUE(hits.ok()) << hits.status().to_string();
    if (hits.ok()) {
      for (const auto& h : *hits) out.insert(h.chunk_id);
    }
    return out;
  };
  // Both words occur in chunks 1 and 2, adjacent and in order only in chunk 2.
  EXPECT_EQ(ids("EfficientNet-B7"), std::set<int64_t>{chunks[2].id});
  EXPECT_EQ(bm25_ids(*store, "EfficientNet-B7").size(), 3u);
  EXPECT_TRUE(ids("B7 EfficientNet").empty());
  EXPECT_EQ(ids("efficientnet"), (std::set<int64_t>{chunks[0].id, chunks[1].id, chunks[2].id}));
  EXPECT_EQ(ids("models trained"), std::set<int64_t>{});
  EXPECT_EQ(ids("trains EfficientNet"), std::set<int64_t>{chunks[2].id});  // stems match
  EXPECT_TRUE(ids("\" * ( ) :").empty());
  // A prefix on the last term: "efficientnet b" begins "efficientnet b3", "... backbone" and
  // "... b7"; "efficientnet b7 mod" only "efficientnet b7 models".
  auto prefixed = store->search_phrase("EfficientNet B", 10, {}, true);
  ASSERT_TRUE(prefixed.ok()) << prefixed.status().to_string();
  EXPECT_EQ(prefixed->size(), 3u);
  EXPECT_TRUE(ids("EfficientNet B").empty());
  auto longer = store->search_phrase("EfficientNet B7 mod", 10, {}, true);
  ASSERT_TRUE(longer.ok());
  ASSERT_EQ(longer->size(), 1u);
  EXPECT_EQ((*longer)[0].chunk_id, chunks[2].id);
  EXPECT_EQ(store->search_phrase("x", -1).status().code(), StatusCode::kInvalidArgument);

  // Term statistics: chunks holding each term (stemmed as FTS5 stems), and FTS5's idf.
  auto stats = store->term_stats("EfficientNet trains pasta");
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->chunks, 3);
  EXPECT_EQ(stats->terms, (std::vector<std::string>{"efficientnet", "trains", "pasta"}));
  EXPECT_EQ(stats->chunks_with, (std::vector<int64_t>{3, 1, 0}));
  EXPECT_DOUBLE_EQ(stats->idf(0), 1e-6);  // in every chunk: clamped
  EXPECT_DOUBLE_EQ(stats->idf(1), std::log(2.5 / 1.5));
  EXPECT_DOUBLE_EQ(stats->idf(2), std::log(3.5 / 0.5));
  EXPECT_DOUBLE_EQ(stats->idf_total(), 1e-6 + std::log(2.5 / 1.5) + std::log(3.5 / 0.5));
  auto none = store->term_stats("?!");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->terms.empty());
  EXPECT_EQ(none->idf_total(), 0.0);
}

TEST(StoreTest, HostileQueriesNeverBreakFts5) {
  test::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto id = store->put_document(
      make_doc("/h.txt"),
      make_chunks({"near the river and not far", "日本語のテキスト", "quoted \"text\" here"}), {});
  ASSERT_TRUE(id.ok());
  std::string long_query;
  for (int i = 0; i < 2000; ++i) long_query += "word" + std::to_string(i) + " OR ";
  const std::vector<std::string> queries = {"",
                                            " ",
                                            "\"",
                                            "\"\"",
                                            "AND OR NOT",
                                            "AND",
                                            "OR",
                                            "NOT",
                                            "*",
                                            "NEAR(",
                                            "NEAR(a b, 2)",
                                            "text:river",
                                            "a\"b",
                                            "(",
                                            ")",
                                            "^river",
                                            "-river",
                                            "+river",
                                            "river*",
                                            "{text}",
                                            "'",
                                            "\\",
                                            "日本語",
                                            "🙂",
                                            "\xff\xfe\x80",
                                            std::string("ri\0ver", 6),
                                            "--",
                                            "%",
                                            long_query};
  for (const std::string& query : queries) {
    auto hits = store->search_bm25(query, 5);
    EXPECT_TRUE(hits.ok()) << "query '" << query.substr(0, 40)
                           << "': " << hits.status().to_string();
  }
  EXPECT_TRUE(store->search_bm25("", 5)->empty());
  EXPECT_TRUE(store->search_bm25("\"", 5)->empty());
  EXPECT_TRUE(store->search_bm25("*  ( ) :", 5)->empty());
  auto chunks = *store->chunks_of(*id);
  // Operators are plain words: "NOT" finds the chunk that contains "not".
  EXPECT_EQ(bm25_ids(*store, "AND OR NOT"), std::set<int64_t>{chunks[0].id});
  EXPECT_EQ(bm25_ids(*store, "NEAR(river"), std::set<int64_t>{chunks[0].id});
  EXPECT_EQ(bm25_ids(*store, "\"text\""), std::set<int64_t>{chunks[2].id});
}

// --- dense search and the embedding model ---

TEST(StoreTest, DenseSearchFindsTheExactVectorFirst) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path());
  ASSERT_NE(store, nullptr);
  constexpr size_t kChunks = 50;
  std::vector<std::string> texts;
  for (size_t i = 0; i < kChunks; ++i) texts.push_back("chunk" + std::to_string(i));
  auto vectors = make_vectors(1000, kChunks);
  auto id = store->put_document(make_doc("/dense"), make_chunks(texts), vectors);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto chunks = *store->chunks_of(*id);
  for (size_t i : {0u, 17u, 49u}) {
    auto hits = dense(*store, vectors[i], 5);
    ASSERT_EQ(hits.size(), 5u);
    EXPECT_EQ(hits[0].chunk_id, chunks[i].id);
    EXPECT_NEAR(hits[0].score, 1.0, kScoreTolerance);
    for (size_t j = 1; j < hits.size(); ++j) {
      EXPECT_LE(hits[j].score, hits[j - 1].score);
      EXPECT_LT(hits[j].score, 1.0 - 1e-3);
    }
  }
  EXPECT_EQ(dense(*store, vectors[0], 1000).size(), kChunks);
  EXPECT_TRUE(dense(*store, vectors[0], 0).empty());
}

TEST(StoreTest, EmbeddingModelIsRecordedAndAChangeIsRefused) {
  test::TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    // BM25-only: no model, no vectors accepted, no dense search.
    auto refused = store->put_document(make_doc("/v"), make_chunks({"vec"}), make_vectors(1, 1));
    EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_TRUE(contains(refused.status().message(), "no embedding model"))
        << refused.status().message();
    EXPECT_EQ(store->search_dense(random_unit_vector(1), 3).status().code(),
              StatusCode::kFailedPrecondition);
    ASSERT_TRUE(store->set_embedding_model(test_model(), false).ok());
  }
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  auto model = store->embedding_model();
  ASSERT_TRUE(model.ok() && model->has_value());
  EXPECT_EQ((*model)->name, "test-embed");
  EXPECT_EQ((*model)->dim, kDim);
  EXPECT_EQ((*model)->fingerprint, std::string(64, 'a'));

  auto id =
      store->put_document(make_doc("/v"), make_chunks({"vec one", "vec two"}), make_vectors(1, 2));
  ASSERT_TRUE(id.ok());
  const int64_t generation = store->generation();

  // Same model: no-op.
  ASSERT_TRUE(store->set_embedding_model(test_model(), false).ok());
  EXPECT_EQ(store->generation(), generation);
  EXPECT_EQ(*store->vector_count(), 2);

  // A different model is refused, naming both and the way out.
  EmbeddingModelInfo other = test_model("other-embed-2", 16);
  Status status = store->set_embedding_model(other, false);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(status.message(), "'test-embed'")) << status.message();
  EXPECT_TRUE(contains(status.message(), "'other-embed-2'")) << status.message();
  EXPECT_TRUE(contains(status.message(), "quire index --reembed")) << status.message();
  EXPECT_EQ((*store->embedding_model())->name, "test-embed");
  EXPECT_EQ(*store->vector_count(), 2);

  // --reembed drops every vector, keeps the text, records the new model.
  ASSERT_TRUE(store->set_embedding_model(other, true).ok());
  EXPECT_EQ(store->generation(), generation + 1);
  EXPECT_EQ((*store->embedding_model())->name, "other-embed-2");
  EXPECT_EQ((*store->embedding_model())->dim, 16);
  EXPECT_EQ(*store->vector_count(), 0);
  EXPECT_EQ(*store->chunk_count(), 2);
  EXPECT_EQ(bm25_ids(*store, "vec").size(), 2u);
  EXPECT_TRUE(dense(*store, random_unit_vector(1, 16)).empty());
  EXPECT_EQ(*store->documents_without_vectors(), std::vector<int64_t>{*id});
  ASSERT_TRUE(store->flush().ok());
  EXPECT_FALSE(fs::exists(tmp.file("vectors." + std::to_string(generation) + ".faiss")));

  // Re-embedding with the new dimension works and survives a reopen.
  std::vector<std::vector<float>> new_vectors = {random_unit_vector(7, 16),
                                                 random_unit_vector(8, 16)};
  ASSERT_TRUE(
      store->put_document(make_doc("/v"), make_chunks({"vec one", "vec two"}), new_vectors).ok());
  EXPECT_TRUE(store->documents_without_vectors()->empty());
  store.reset();
  store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->repair_report().repaired) << store->repair_report().what;
  auto hits = dense(*store, new_vectors[1], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].score, 1.0, kScoreTolerance);
}

TEST(StoreTest, CallsFromSeveralThreadsAreSerialized) {
  test::TempDir tmp;
  auto store = open_with_model(tmp.path());
  ASSERT_NE(store, nullptr);
  constexpr int kDocs = 40;
  std::thread writer([&] {
    for (int i = 0; i < kDocs; ++i) {
      const std::string n = std::to_string(i);
      auto id = store->put_document(make_doc("/t/" + n), make_chunks({"thread" + n + " text"}),
                                    make_vectors(static_cast<uint32_t>(100 + i), 1));
      EXPECT_TRUE(id.ok()) << id.status().to_string();
    }
  });
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(store->search_bm25("thread1 text", 5).ok());
    EXPECT_TRUE(store->search_dense(random_unit_vector(static_cast<uint32_t>(i)), 5).ok());
    EXPECT_TRUE(store->vector_count().ok());
  }
  writer.join();
  EXPECT_EQ(*store->chunk_count(), kDocs);
  expect_consistent(*store);
}

// --- crash safety ---

// A store with two flushed documents (5 chunk vectors); returns the generation.
int64_t build_flushed_store(const std::string& dir) {
  auto store = open_with_model(dir);
  EXPECT_NE(store, nullptr);
  EXPECT_TRUE(store
                  ->put_document(make_doc("/one"), make_chunks({"first a", "first b", "first c"}),
                                 make_vectors(10, 3))
                  .ok());
  EXPECT_TRUE(store
                  ->put_document(make_doc("/two"), make_chunks({"second a", "second b"}),
                                 make_vectors(20, 2))
                  .ok());
  EXPECT_TRUE(store->flush().ok());
  return store->generation();
}

void expect_searchable(Store& store) {
  auto one = store.find_document("/one");
  ASSERT_TRUE(one.ok() && one->has_value());
  auto chunks = *store.chunks_of((*one)->id);
  auto vectors = make_vectors(10, 3);
  for (size_t i = 0; i < 3; ++i) {
    auto hits = dense(store, vectors[i], 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, chunks[i].id);
  }
  expect_consistent(store);
}

TEST(StoreCrashTest, MissingVectorsFileIsRebuilt) {
  test::TempDir tmp;
  const int64_t generation = build_flushed_store(tmp.path());
  const std::string file = tmp.file("vectors." + std::to_string(generation) + ".faiss");
  ASSERT_TRUE(fs::remove(file));
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  const RepairReport& report = store->repair_report();
  EXPECT_TRUE(report.repaired);
  EXPECT_TRUE(contains(report.what, "rebuilt vectors.2.faiss from 5 chunk vectors (file missing)"))
      << report.what;
  EXPECT_EQ(report.temp_files_removed, 0);
  EXPECT_TRUE(fs::exists(file));  // written back at once
  expect_searchable(*store);
}

TEST(StoreCrashTest, TruncatedVectorsFileIsRebuilt) {
  test::TempDir tmp;
  const int64_t generation = build_flushed_store(tmp.path());
  const std::string file = tmp.file("vectors." + std::to_string(generation) + ".faiss");
  auto bytes = test::read_file(file);
  ASSERT_GT(bytes.size(), 100u);
  bytes.resize(bytes.size() / 2);
  test::write_file(file, bytes);
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->repair_report().repaired);
  EXPECT_TRUE(contains(store->repair_report().what, "file unreadable"))
      << store->repair_report().what;
  expect_searchable(*store);
  store.reset();
  // The rebuilt file is whole again.
  store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->repair_report().repaired) << store->repair_report().what;
}

TEST(StoreCrashTest, FlippedByteInAVectorIsDetectedAndRebuilt) {
  test::TempDir tmp;
  const int64_t generation = build_flushed_store(tmp.path());
  const std::string file = tmp.file("vectors." + std::to_string(generation) + ".faiss");
  auto bytes = test::read_file(file);
  // The file ends with the id map (5 ids + its length, 48 bytes) and the 24-byte footer: 60
  // bytes before the end lies inside the vector data, which FAISS would load without complaint.
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() - 24 - 60] ^= 0x10;
  test::write_file(file, bytes);
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(contains(store->repair_report().what, "checksum mismatch"))
      << store->repair_report().what;
  expect_searchable(*store);
}

TEST(StoreCrashTest, GarbageVectorsFileIsRebuilt) {
  test::TempDir tmp;
  const int64_t generation = build_flushed_store(tmp.path());
  std::vector<uint8_t> garbage(4096);
  std::mt19937 rng(5);
  for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(rng());
  test::write_file(tmp.file("vectors." + std::to_string(generation) + ".faiss"), garbage);
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->repair_report().repaired);
  expect_searchable(*store);
}

TEST(StoreCrashTest, LeftoverTemporaryFilesAreRemovedAndCounted) {
  test::TempDir tmp;
  build_flushed_store(tmp.path());
  test::write_file(tmp.file("vectors.3.faiss.tmp.123"), {1, 2, 3});
  test::write_file(tmp.file("unrelated.txt"), {1});
  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  const RepairReport& report = store->repair_report();
  EXPECT_TRUE(report.repaired);
  EXPECT_EQ(report.temp_files_removed, 1);
  EXPECT_TRUE(contains(report.what, "removed 1 temporary file (vectors.3.faiss.tmp.123)"))
      << report.what;
  EXPECT_FALSE(contains(report.what, "rebuilt")) << report.what;
  EXPECT_FALSE(fs::exists(tmp.file("vectors.3.faiss.tmp.123")));
  EXPECT_TRUE(fs::exists(tmp.file("unrelated.txt")));
  expect_searchable(*store);
}

TEST(StoreCrashTest, StaleGenerationIsRebuilt) {
  test::TempDir tmp;
  {
    auto store = open_with_model(tmp.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->put_document(make_doc("/one"), make_chunks({"first a", "first b", "first c"}),
                                   make_vectors(10, 3))
                    .ok());
    ASSERT_TRUE(store->flush().ok());
    fs::copy_file(tmp.file("vectors.1.faiss"), tmp.file("saved"));
    ASSERT_TRUE(store
                    ->put_document(make_doc("/two"), make_chunks({"second a", "second b"}),
                                   make_vectors(20, 2))
                    .ok());
  }  // closing flushes generation 2 and removes generation 1
  EXPECT_TRUE(fs::exists(tmp.file("vectors.2.faiss")));
  EXPECT_FALSE(fs::exists(tmp.file("vectors.1.faiss")));

  // As if the process died before writing generation 2: only the older file is there.
  fs::remove(tmp.file("vectors.2.faiss"));
  fs::copy_file(tmp.file("saved"), tmp.file("vectors.1.faiss"));
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    const RepairReport& report = store->repair_report();
    EXPECT_TRUE(report.repaired);
    EXPECT_TRUE(contains(report.what, "rebuilt vectors.2.faiss from 5 chunk vectors"))
        << report.what;
    EXPECT_TRUE(contains(report.what, "stale vectors.1.faiss")) << report.what;
    EXPECT_FALSE(fs::exists(tmp.file("vectors.1.faiss")));
    EXPECT_TRUE(fs::exists(tmp.file("vectors.2.faiss")));
    expect_searchable(*store);
  }

  // A file with the current generation's name but older contents (wrong count) is rebuilt too.
  fs::remove(tmp.file("vectors.2.faiss"));
  fs::copy_file(tmp.file("saved"), tmp.file("vectors.2.faiss"));
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(contains(store->repair_report().what, "file holds 3 vectors, the database 5"))
        << store->repair_report().what;
    expect_searchable(*store);
  }

  // Leftover older generation next to a good current file (crash after the rename): removed.
  fs::copy_file(tmp.file("saved"), tmp.file("vectors.1.faiss"));
  {
    auto store = open_store(tmp.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->repair_report().what, "removed stale vectors.1.faiss");
    EXPECT_FALSE(fs::exists(tmp.file("vectors.1.faiss")));
    expect_searchable(*store);
  }
}

// Reads one line from `fd` with a deadline; empty on EOF or timeout.
std::string read_line(int fd, int timeout_ms) {
  std::string line;
  char c = 0;
  while (true) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line += c;
  }
}

constexpr uint32_t kCrashSeed = 5000;

std::vector<std::vector<float>> crash_doc_vectors(int doc) {
  return make_vectors(kCrashSeed + static_cast<uint32_t>(doc) * 10, 3);
}

// In a child process: open the store, put documents forever, and after each put returns write
// its number to `fd`. Flushes once (doc 3) so that an older vectors file exists too.
[[noreturn]] void crash_child(const std::string& dir, int fd) {
  auto store = Store::open(dir);
  if (!store.ok()) ::_exit(2);
  if (!(*store)->set_embedding_model(test_model(), false).ok()) ::_exit(3);
  for (int doc = 0;; ++doc) {
    const std::string n = std::to_string(doc);
    auto id = (*store)->put_document(
        make_doc("/crash/" + n),
        make_chunks({"crash" + n + " a", "crash" + n + " b", "crash" + n + " c"}),
        crash_doc_vectors(doc));
    if (!id.ok()) ::_exit(4);
    if (doc == 3 && !(*store)->flush().ok()) ::_exit(5);
    const std::string line = n + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
  }
}

TEST(StoreCrashTest, KilledWriterLosesNothingCommitted) {
  test::TempDir tmp;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    crash_child(tmp.path(), fds[1]);
  }
  ::close(fds[1]);
  int last_reported = -1;
  constexpr int kReportsBeforeKill = 12;
  while (last_reported + 1 < kReportsBeforeKill) {
    std::string line = read_line(fds[0], 60000);
    if (line.empty()) break;
    last_reported = std::stoi(line);
  }
  ::kill(child, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wait_status)) << "child exited with " << WEXITSTATUS(wait_status);
  ASSERT_EQ(last_reported + 1, kReportsBeforeKill);

  auto store = open_store(tmp.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->repair_report().repaired);
  EXPECT_TRUE(contains(store->repair_report().what, "rebuilt")) << store->repair_report().what;
  for (int doc = 0; doc <= last_reported; ++doc) {
    const std::string n = std::to_string(doc);
    auto record = store->find_document("/crash/" + n);
    ASSERT_TRUE(record.ok() && record->has_value()) << "document " << n << " lost";
    auto chunks = *store->chunks_of((*record)->id);
    ASSERT_EQ(chunks.size(), 3u);
    auto vectors = crash_doc_vectors(doc);
    for (size_t i = 0; i < 3; ++i) {
      auto hits = dense(*store, vectors[i], 1);
      ASSERT_EQ(hits.size(), 1u);
      EXPECT_EQ(hits[0].chunk_id, chunks[i].id) << "document " << n << " chunk " << i;
      EXPECT_NEAR(hits[0].score, 1.0, kScoreTolerance);
    }
    EXPECT_EQ(bm25_ids(*store, "crash" + n),
              (std::set<int64_t>{chunks[0].id, chunks[1].id, chunks[2].id}));
  }
  // A document in flight at the kill is either whole or absent.
  auto docs = *store->list_documents();
  for (const DocumentRecord& doc : docs) EXPECT_EQ(store->chunks_of(doc.id)->size(), 3u);
  expect_consistent(*store);
}

// --- HNSW ---

TEST(StoreTest, HnswAddsSearchesAndRemoves) {
  test::TempDir tmp;
  StoreOptions options;
  options.index_kind = VectorIndexKind::kHnsw;
  auto store = open_with_model(tmp.path(), options);
  ASSERT_NE(store, nullptr);
  constexpr size_t kPerDoc = 40;
  std::vector<std::string> texts;
  for (size_t i = 0; i < kPerDoc; ++i) texts.push_back("hnsw" + std::to_string(i));
  auto a_vectors = make_vectors(7000, kPerDoc);
  auto b_vectors = make_vectors(8000, kPerDoc);
  auto a = store->put_document(make_doc("/a"), make_chunks(texts), a_vectors);
  auto b = store->put_document(make_doc("/b"), make_chunks(texts), b_vectors);
  ASSERT_TRUE(a.ok() && b.ok());
  auto a_chunks = *store->chunks_of(*a);
  auto b_chunks = *store->chunks_of(*b);
  // 80 vectors, efSearch 64: the graph search finds an exact match.
  for (size_t i : {0u, 13u, 39u}) {
    auto hits = dense(*store, b_vectors[i], 3);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0].chunk_id, b_chunks[i].id);
    EXPECT_NEAR(hits[0].score, 1.0, kScoreTolerance);
  }
  ASSERT_TRUE(store->remove_document(*b).ok());
  EXPECT_EQ(*store->vector_count(), static_cast<int64_t>(kPerDoc));
  std::set<int64_t> removed;
  for (const ChunkRecord& chunk : b_chunks) removed.insert(chunk.id);
  auto hits = dense(*store, b_vectors[5], 1000);
  EXPECT_EQ(hits.size(), kPerDoc);
  for (const SearchHit& hit : hits) EXPECT_FALSE(removed.contains(hit.chunk_id));
  expect_consistent(*store);

  // Flush rebuilds the graph without the removed vectors; the kind is kept on reopen.
  ASSERT_TRUE(store->flush().ok());
  store.reset();
  store = open_store(tmp.path());  // asks for flat: the recorded kind wins
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->repair_report().repaired) << store->repair_report().what;
  EXPECT_EQ(*store->vector_count(), static_cast<int64_t>(kPerDoc));
  auto again = dense(*store, a_vectors[21], 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].chunk_id, a_chunks[21].id);

  // Replacing works as well.
  auto a2_vectors = make_vectors(9000, 2);
  ASSERT_TRUE(
      store->put_document(make_doc("/a"), make_chunks({"new x", "new y"}), a2_vectors).ok());
  EXPECT_EQ(*store->vector_count(), 2);
  auto replaced = dense(*store, a2_vectors[1], 10);
  ASSERT_EQ(replaced.size(), 2u);
  EXPECT_EQ(replaced[0].chunk_id, (*store->chunks_of(*a))[1].id);
  expect_consistent(*store);
}

}  // namespace
}  // namespace quire::index
