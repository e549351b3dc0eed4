# hfjit_tokenizers: WordPiece, byte-level BPE, Unigram, SentencePiece and the
# tokenizer.json pipeline. No libtorch headers: fast to build, fuzzable alone.
add_library(hfjit_tokenizers STATIC
  src/tokenizers/unicode.cpp
  src/tokenizers/normalized_string.cpp
  src/tokenizers/regex.cpp
  src/tokenizers/vocab.cpp
  src/tokenizers/normalizers.cpp
  src/tokenizers/pre_tokenizers.cpp
  src/tokenizers/models.cpp
  src/tokenizers/sentencepiece_model.cpp
  src/tokenizers/added_vocabulary.cpp
  src/tokenizers/post_processors.cpp
  src/tokenizers/decoders.cpp
  src/tokenizers/tokenizer.cpp
  src/tokenizers/loaders.cpp
)
target_include_directories(hfjit_tokenizers PUBLIC include)
target_link_libraries(hfjit_tokenizers
  PUBLIC hfjit_io nlohmann_json::nlohmann_json
  PRIVATE PkgConfig::UTF8PROC PkgConfig::PCRE2 PkgConfig::SENTENCEPIECE hfjit_flags)
set_target_properties(hfjit_tokenizers PROPERTIES POSITION_INDEPENDENT_CODE ON)

# Encode throughput on the parity corpus, one thread (docs/tokenizers.md, "Speed").
add_executable(hfjit_tokenize_bench ${CMAKE_CURRENT_SOURCE_DIR}/../bench/tokenize_bench.cpp)
target_link_libraries(hfjit_tokenize_bench PRIVATE hfjit_tokenizers hfjit_flags)
