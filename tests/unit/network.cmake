# Unit tests of src/sdn/network/.
sdn_test_binary(sdn_unit_network unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/network/inference_copy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network/memory_format_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network/network_info_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network/sdn_network_test.cpp
)
