# Unit tests of src/sdn/models/.
sdn_test_binary(sdn_unit_models unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/models/backbone_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/block_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/cost_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/fingerprint_test.cpp
)
