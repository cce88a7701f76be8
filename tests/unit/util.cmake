# Unit tests of src/sdn/util/.
sdn_test_binary(sdn_unit_util unit sdn_util
  ${CMAKE_CURRENT_LIST_DIR}/util/allocator_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/checksum_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/error_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/files_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/format_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/json_fields_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/output_lock_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/png_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/printable_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/progress_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/util/timer_test.cpp
)
target_link_libraries(sdn_unit_util PRIVATE PNG::PNG)
