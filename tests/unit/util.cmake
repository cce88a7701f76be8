# Unit tests of src/sdn/util/.
sdn_test_binary(sdn_unit_util unit sdn_util
  ${CMAKE_CURRENT_LIST_DIR}/util/allocator_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/files_test.cpp
)
