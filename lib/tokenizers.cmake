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
  src/tokenizers/spm_loader.cpp
)
target_include_directories(hfjit_tokenizers PUBLIC include)
target_link_libraries(hfjit_tokenizers
  PUBLIC hfjit_io nlohmann_json::nlohmann_json
  PRIVATE PkgConfig::UTF8PROC PkgConfig::PCRE2 ${CMAKE_DL_LIBS} hfjit_flags)
set_target_properties(hfjit_tokenizers PROPERTIES POSITION_INDEPENDENT_CODE ON)

# libsentencepiece only behind the dlopen'ed shim (see lib/include/hfjit/tokenizers/spm.h):
# linked directly, its bundled protobuf crashes any process that also loads libtorch.
add_library(hfjit_spm MODULE src/tokenizers/spm_shim.cpp)
target_include_directories(hfjit_spm PRIVATE include)
target_link_libraries(hfjit_spm PRIVATE PkgConfig::SENTENCEPIECE hfjit_flags)
set_target_properties(hfjit_spm PROPERTIES PREFIX "lib" OUTPUT_NAME hfjit_spm
  LIBRARY_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}" CXX_VISIBILITY_PRESET hidden)
target_compile_definitions(hfjit_tokenizers PRIVATE HFJIT_SPM_BUILD_PATH="$<TARGET_FILE:hfjit_spm>")
add_dependencies(hfjit_tokenizers hfjit_spm)

# Encode throughput on the parity corpus, one thread (docs/tokenizers.md, "Speed").
add_executable(hfjit_tokenize_bench ${CMAKE_CURRENT_SOURCE_DIR}/../bench/tokenize_bench.cpp)
target_link_libraries(hfjit_tokenize_bench PRIVATE hfjit_tokenizers hfjit_flags)
