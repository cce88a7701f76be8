# Sources of the heads area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/internal_classifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/max_avg_pool.cpp
)
