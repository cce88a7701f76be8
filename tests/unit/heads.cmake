# Unit tests of src/sdn/heads/.
sdn_test_binary(sdn_unit_heads unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/heads/internal_classifier_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heads/max_avg_pool_test.cpp
)
