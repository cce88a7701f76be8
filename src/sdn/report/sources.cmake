# Sources of the report area.
list(APPEND SDN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/console.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html_analyses.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html_figures.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html_parts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/svg.cpp
)
