sdn_test_binary(sdn_integration integration
  ${CMAKE_CURRENT_LIST_DIR}/integration/train_test.cpp
)
set_tests_properties(${sdn_integration_TESTS} PROPERTIES TIMEOUT 600)
