# Sources of the pipeline area (the paper end to end).
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/aggregate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/paper.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seeds.cpp
)
