# Unit tests of src/sdn/train/.
sdn_test_binary(sdn_unit_train unit sdn_runtime
  ${CMAKE_CURRENT_LIST_DIR}/train/bench_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/distributed_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/schedules_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train/trainer_test.cpp
)
