sdn_test_binary(sdn_unit_analysis unit
  ${CMAKE_CURRENT_LIST_DIR}/analysis/npy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/analysis/exit_trace_test.cpp
)
