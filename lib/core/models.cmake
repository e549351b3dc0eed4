# Native model families, their shared layers, the registry and the WeightLoader
# (src/models/, src/weights.cpp). Included by lib/core/CMakeLists.txt.
target_sources(hfjit PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/weights.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/layers.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/heads.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/convert.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/bert.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/roberta.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/distilbert.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/albert.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/deberta_v2.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/electra.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/gpt2.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/llama.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/seq2seq.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/marian.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/t5.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/modernbert.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/mpnet.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/models/registry.cpp
)
