# Unit tests of src/sdn/inference/.
sdn_test_binary(sdn_unit_inference unit sdn_runtime
  ${CMAKE_CURRENT_LIST_DIR}/inference/bench_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inference/early_exit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inference/evaluator_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inference/grad_cam_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inference/trace_builder_test.cpp
)
