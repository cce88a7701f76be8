# Unit tests of src/sdn/checkpoint/.
sdn_test_binary(sdn_unit_checkpoint unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/checkpoint_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/export_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/import_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/run_dir_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint/state_dict_test.cpp
)
