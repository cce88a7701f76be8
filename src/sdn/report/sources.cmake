# Sources of the report area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/console.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
)
