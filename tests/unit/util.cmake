sdn_test_binary(sdn_unit_util unit
  ${CMAKE_CURRENT_LIST_DIR}/util/allocator_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/device_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/files_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/threads_test.cpp
)
