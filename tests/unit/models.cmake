sdn_test_binary(sdn_unit_models unit
  ${CMAKE_CURRENT_LIST_DIR}/models/backbone_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/block_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/cost_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/fingerprint_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/internal_classifier_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/max_avg_pool_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/sdn_network_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/inference_copy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/models/network_info_test.cpp
)
