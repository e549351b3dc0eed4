# Tokenizer unit tests and parity with tokenizers / sentencepiece (tests/fixtures/tokenizers).
add_executable(tokenizer_tests test_util.cpp test_tokenizer_util.cpp
  test_tokenizer_parity.cpp
  test_tokenizer_units.cpp
  test_tokenizer_errors.cpp
  test_tokenizer_edge_cases.cpp
  test_tokenizer_fairseq.cpp
  test_tokenizer_deberta.cpp
  test_tokenizer_auto_class.cpp
  test_tokenizer_llama.cpp
  test_tokenizer_marian.cpp
  test_tokenizer_t5.cpp)
target_link_libraries(tokenizer_tests PRIVATE hfjit_test_main hfjit_tokenizers Catch2::Catch2 hfjit_flags)
target_compile_definitions(tokenizer_tests PRIVATE HFJIT_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
catch_discover_tests(tokenizer_tests)
