# CTest smoke test of bench_query (run with cmake -P): runs it with --quick and checks that it
# prints one JSON object per line with the fields each kind of line must have.
# Inputs: BENCH (the executable), SOURCE_DIR (the repository), WORK_DIR, MODELS_DIR.
cmake_minimum_required(VERSION 3.25)
if(DEFINED ENV{QUIRE_SHARED_DIR} AND NOT "$ENV{QUIRE_SHARED_DIR}" STREQUAL "")
  set(shared "$ENV{QUIRE_SHARED_DIR}")
else()
  set(shared "${SOURCE_DIR}/../shared")
endif()
if(NOT IS_DIRECTORY "${shared}/data/papers" OR NOT IS_DIRECTORY "${shared}/conformance/vocab")
  message("bench_query_smoke: skipped: ${shared} (papers, SciFact, the bge vocabulary) not found; "
          "set QUIRE_SHARED_DIR")
  return()
endif()

execute_process(
  COMMAND "${BENCH}" --quick --threads 4 --shared "${shared}" --work "${WORK_DIR}"
          --models-dir "${MODELS_DIR}"
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench_query exited with ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()

# Fields every line of a kind must have; "a.b" is a member of an object member.
set(fields_setup embedding_model token_counter queries threads)
set(fields_corpus corpus chunks vectors vectors_source faiss_index reused build_seconds)
set(fields_embed embed_ms.p50 embed_ms.p99)
set(fields_latency corpus chunks mode effective_mode threads queries queries_per_s
    retrieve_pack_ms.p50 retrieve_pack_ms.p99 retrieve_pack_ms.mean retrieve_pack_ms.min
    retrieve_pack_ms.max retrieve_ms.p50 pack_ms.p50 mean_sources)
set(fields_goal goal goal_p50_ms measured_p50_ms met)

# Line by line without CMake lists: the JSON holds ';' and '[', which lists would split on or
# treat as quoting.
set(latency_lines 0)
set(seen_kinds "")
set(rest "${out}")
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "\n" end)
  if(end EQUAL -1)
    set(line "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${end} line)
    math(EXPR next "${end} + 1")
    string(SUBSTRING "${rest}" ${next} -1 rest)
  endif()
  if(line STREQUAL "")
    continue()
  endif()
  string(JSON benchmark ERROR_VARIABLE json_error GET "${line}" benchmark)
  if(json_error)
    message(FATAL_ERROR "not a JSON line with 'benchmark': ${line}\n${json_error}")
  endif()
  if(NOT benchmark STREQUAL "query")
    message(FATAL_ERROR "benchmark is '${benchmark}', expected 'query': ${line}")
  endif()
  string(JSON kind GET "${line}" kind)
  list(APPEND seen_kinds ${kind})
  if(NOT DEFINED fields_${kind})
    message(FATAL_ERROR "unknown kind '${kind}': ${line}")
  endif()
  foreach(field IN LISTS fields_${kind})
    string(REPLACE "." ";" path "${field}")
    string(JSON value ERROR_VARIABLE json_error GET "${line}" ${path})
    if(json_error)
      message(FATAL_ERROR "${kind} line lacks '${field}': ${line}")
    endif()
  endforeach()
  if(kind STREQUAL "latency")
    math(EXPR latency_lines "${latency_lines} + 1")
    string(JSON p50 GET "${line}" retrieve_pack_ms p50)
    if(p50 LESS_EQUAL 0)
      message(FATAL_ERROR "latency p50 is ${p50}, expected > 0: ${line}")
    endif()
    string(JSON mode GET "${line}" mode)
    string(JSON effective GET "${line}" effective_mode)
    if(NOT mode STREQUAL effective)
      message(FATAL_ERROR "mode ${mode} ran as ${effective} (no vectors?): ${line}")
    endif()
  endif()
endwhile()
foreach(kind setup corpus embed latency goal)
  if(NOT kind IN_LIST seen_kinds)
    message(FATAL_ERROR "no '${kind}' line in:\n${out}")
  endif()
endforeach()
# 2 corpora x 3 modes (hybrid, bm25, dense) x (1 and 4 threads).
if(NOT latency_lines EQUAL 12)
  message(FATAL_ERROR "${latency_lines} latency lines, expected 12:\n${out}")
endif()
message("bench_query_smoke: ${latency_lines} latency lines, all fields present")
