# Native model parity tests (tests/test_models.cpp). Included by tests/CMakeLists.txt.
target_sources(core_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/test_models.cpp)
