# Unit tests of src/sdn/device/.
sdn_test_binary(sdn_unit_device unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/device/device_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/device/threads_test.cpp
)
