# Unit tests of src/sdn/analysis/.
sdn_test_binary(sdn_unit_analysis unit sdn_analysis
  ${CMAKE_CURRENT_LIST_DIR}/analysis/backdoor_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/calibration_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/confusion_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/early_exit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/exit_policy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/exit_trace_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/npy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/ood_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/overthinking_test.cpp
)
