# The analysis and report areas' unit tests: pure functions over small
# hand-made traces (tests/unit/analysis/trace_fixtures.h).
sdn_test_binary(sdn_unit_analysis unit
  ${CMAKE_CURRENT_LIST_DIR}/analysis/backdoor_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/confusion_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/early_exit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/exit_policy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/exit_trace_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/npy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/overthinking_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/report_test.cpp
)
