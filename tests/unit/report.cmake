# Unit tests of src/sdn/report/.
sdn_test_binary(sdn_unit_report unit sdn_analysis
  ${CMAKE_CURRENT_LIST_DIR}/report/console_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/html_figures_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/html_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/report_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/report_types_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report/svg_test.cpp
)
# Renders the page in headless Chromium: screenshot and DOM checks.
sdn_test_binary(sdn_e2e_report e2e sdn_analysis
  ${CMAKE_CURRENT_LIST_DIR}/report/html_e2e_test.cpp
)
target_link_libraries(sdn_e2e_report PRIVATE PNG::PNG)
